"""Released models of the papers (official checkpoints), converted to srkit safetensors and run exactly.

| module | one job |
| --- | --- |
| ``base`` | the contract every family implements: :class:`ReleasedFamily`, :class:`ConvertedModel`, :class:`ReleasedPipeline` |
| ``registry`` | ``FAMILIES`` (every ``srkit convert --from`` name) and :func:`load_released` for converted files |
| ``resshift/`` | ResShift: official Swin-UNet, VQGAN-f4 (diffusers ``VQModel``), key mapping, official sampler |
| ``sd/`` | DoSSR, CCSR v1/v2: SD-2.1 UNet + ControlNet + VAE through ``diffusers``, key mapping, official samplers |

srkit never ships or downloads these weights; ``srkit convert`` turns a user's
downloaded file into an ordinary srkit checkpoint (``kind="srkit-released"``).
"""

import logging

# diffusers imports bitsandbytes where installed; its CPU backend logs a warning about an optional
# package on import, which would break srkit's one-line stderr. Its errors still show.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
