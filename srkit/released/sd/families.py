"""The four ``srkit convert --from`` names of the SD-2.1 family: ``dossr``, ``dossr-onestep``, ``ccsr-v1``, ``ccsr-v2``.

Each :class:`SDFamily` recognises its source keys, converts them (:mod:`.convert`, with the
prompt contexts baked by :mod:`.text`) and loads the result as a pipeline
(:mod:`.pipeline`). The converted ``config`` holds the network configs and the official
inference settings (``procedure``), so a converted file runs without further options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from srkit.errors import UsageError, WeightsError
from srkit.released.base import ConvertedModel, ReleasedPipeline
import srkit.released.sd.text as text
from srkit.released.sd.convert import (
    CONTROL_SRC,
    RRDB_SRC,
    UNET_SRC,
    convert_controlldm,
    convert_diffusers_parts,
    read_diffusers_folders,
    strip_wrappers,
    unwrapped_key,
)
from srkit.released.sd.pipeline import (
    CCSRv1Pipeline,
    CCSRv2Pipeline,
    DoSSRPipeline,
    SDNetworks,
    resolve_dtype,
)

SD_LICENCE = "CreativeML Open RAIL++-M (derived from Stable Diffusion 2.1)"
DOSSR_LICENCE = f"{SD_LICENCE}; DoSSR code: no licence stated (AMD-AIG-AIMA/DoSSR)"
CCSR_LICENCE = f"{SD_LICENCE}; CCSR code: Apache-2.0 (csslc/CCSR)"

Contexts = Callable[[Mapping[str, Tensor], Sequence[str]], list[Tensor]]


@dataclass(frozen=True)
class SDFamily:
    """One official SD-family release: how to recognise, convert and load it (a :class:`ReleasedFamily`)."""

    name: str
    licence: str
    description: str
    layout: str  # "controlldm" (one Lightning pickle) or "diffusers" (folders)
    procedure: dict[str, Any] = field(default_factory=dict)
    prompts: tuple[str, ...] = (text.POSITIVE_PROMPT,)
    preprocessor: bool = False

    # --- recognising ---------------------------------------------------------------------
    def looks_like(self, keys: set[str]) -> bool:
        keys = {unwrapped_key(k) for k in keys}
        if self.layout == "diffusers":
            return any(k.startswith("controlnet.condition_conv_in.") for k in keys)
        is_controlldm = any(k.startswith(UNET_SRC) for k in keys) and any(k.startswith(CONTROL_SRC) for k in keys)
        return is_controlldm and self.preprocessor == any(k.startswith(RRDB_SRC) for k in keys)

    # --- converting ----------------------------------------------------------------------
    def convert(
        self, state: Mapping[str, Tensor], *, contexts: Sequence[Tensor] | None = None, heads: Sequence[int] | None = None
    ) -> ConvertedModel:
        """srkit tensors and config of an official state dict.

        ``contexts``: the prompt contexts in the order of :attr:`prompts` (1 x 77 x C each);
        by default they are computed from the checkpoint's own text tower (OpenCLIP
        ``cond_stage_model.*``, or CCSR v2's ``text_encoder.*``). ``heads``: attention heads
        per UNet level (not in the weights; default SD-2.1's 64 channels per head).
        """
        state = strip_wrappers(state)
        if self.layout == "controlldm":
            tensors, config, ignored = convert_controlldm(state, heads=heads, preprocessor=self.preprocessor, what=self.name)
            bake: Contexts = text.open_clip_contexts
        else:
            tensors, config, ignored = convert_diffusers_parts(state, heads=heads, what=self.name)
            bake = text.clip_text_contexts
        baked = list(contexts) if contexts is not None else bake(state, self.prompts)
        if len(baked) != len(self.prompts):
            raise WeightsError(f"{self.name} needs {len(self.prompts)} prompt contexts, got {len(baked)}")
        width = config["unet"]["cross_attention_dim"]
        for prompt, context in zip(self.prompts, baked):
            if context.ndim != 3 or context.shape[0] != 1 or context.shape[-1] != width:
                raise WeightsError(f"the context of {prompt!r} has shape {tuple(context.shape)}, expected (1, 77, {width})")
        tensors["text.context"] = baked[0].contiguous()
        if len(baked) > 1:
            tensors["text.negative_context"] = baked[1].contiguous()
        config.update(family=self.name, prompts=list(self.prompts), procedure=dict(self.procedure))
        return ConvertedModel(tensors=tensors, config=config, ignored=ignored)

    def read_folders(self, folders: Sequence[Path]) -> dict[str, Tensor]:
        """The role-prefixed weights of diffusers folders (CCSR v2); other releases are single files."""
        if self.layout != "diffusers":
            raise UsageError(f"{self.name} converts one checkpoint file, not folders")
        return read_diffusers_folders(folders)

    # --- settings ------------------------------------------------------------------------
    @property
    def pipeline_class(self) -> type[DoSSRPipeline | CCSRv1Pipeline | CCSRv2Pipeline]:
        return PIPELINES[self.procedure["kind"]]

    def settings(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The official procedure (without ``kind``) with ``overrides``, checked (unknown names, impossible values)."""
        merged = {k: v for k, v in self.procedure.items() if k != "kind"} | dict(overrides or {})
        merged.pop("kind", None)
        self.pipeline_class.check_settings(merged)
        return merged

    def check_settings(self, overrides: Mapping[str, Any]) -> None:
        """What ``srkit convert --set`` checks before reading anything."""
        self.settings(overrides)

    # --- loading -------------------------------------------------------------------------
    def load(
        self, tensors: Mapping[str, Tensor], config: Mapping[str, Any], *, device: torch.device, precision: str
    ) -> ReleasedPipeline:
        procedure = self.settings(config.get("procedure", {}))
        device = torch.device(device)
        nets = SDNetworks(tensors, config, device, resolve_dtype(precision, device))
        return self.pipeline_class(nets, model_id=self.name, licence=self.licence, **procedure)


PIPELINES: dict[str, type[DoSSRPipeline | CCSRv1Pipeline | CCSRv2Pipeline]] = {
    "dossr": DoSSRPipeline, "ccsr-v1": CCSRv1Pipeline, "ccsr-v2": CCSRv2Pipeline,
}


DOSSR = SDFamily(
    "dossr", DOSSR_LICENCE, "DoSSR (Cui et al. 2024), dossr_default.ckpt: Real-ESRNet preprocessor, 5-step order-3 DoS-SDE, x4",
    "controlldm", {"kind": "dossr", "steps": 5, "order": 3}, preprocessor=True,
)
DOSSR_ONESTEP = SDFamily(
    "dossr-onestep", DOSSR_LICENCE, "DoSSR (Cui et al. 2024), dossr_onestep.ckpt: Real-ESRGAN preprocessor, 1 step, x4",
    "controlldm", {"kind": "dossr", "steps": 1, "order": 1}, preprocessor=True,
)
CCSR_V1 = SDFamily(
    "ccsr-v1", CCSR_LICENCE, "CCSR v1 (Sun et al. 2023), real-world_ccsr.ckpt: tau jump + 15 DDPM steps (16 NFE), x4",
    "controlldm", {"kind": "ccsr-v1", "steps": 45, "t_max": 0.6667, "t_min": 0.3333, "process_size": 512}, prompts=("",),
)
CCSR_V2 = SDFamily(
    "ccsr-v2", CCSR_LICENCE,
    "CCSR v2 (Sun et al. 2024), diffusers ControlNet + VAE folders with SD-2.1-base's unet/text_encoder: 6 steps, CFG 4.5 (2 NFE), x4",
    "diffusers", {"kind": "ccsr-v2", "steps": 6, "t_max": 0.6667, "t_min": 0.5, "guidance": 4.5, "process_size": 512},
    prompts=(text.POSITIVE_PROMPT, text.CCSR_V2_NEGATIVE_PROMPT),
)
