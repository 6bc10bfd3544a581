"""DoSSR, CCSR v1 and CCSR v2: SD-2.1 UNet + ControlNet + VAE through ``diffusers`` (the ``srkit[sd]`` extra).

| module | one job |
| --- | --- |
| ``keymap`` | rename plans traced from diffusers' LDM converters; every source key consumed or ignored |
| ``networks`` | diffusers modules from configs read off shapes; the ControlNet hint variants |
| ``convert`` | official state dicts -> srkit tensors + config |
| ``text`` | the fixed prompts' contexts, baked at conversion |
| ``schedules`` | SD-2.1 betas, respacing, DoSSR's official eta grid |
| ``samplers`` | the official DoS-SDE, CCSR v1 and CCSR v2 procedures with injectable draws |
| ``pipeline`` | the :class:`~srkit.released.base.ReleasedPipeline` of each model |
| ``families`` | the ``srkit convert --from`` names |
"""

from srkit.released.sd.families import CCSR_V1, CCSR_V2, DOSSR, DOSSR_ONESTEP, SDFamily

SD_FAMILIES: list[SDFamily] = [DOSSR, DOSSR_ONESTEP, CCSR_V1, CCSR_V2]

__all__ = ["SD_FAMILIES", "SDFamily"]
