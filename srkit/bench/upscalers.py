"""What a benchmark row runs: a diffusion model with a sampler, or the bicubic baseline.

Both are called as ``upscaler(lr, seed=...) -> (sr, nfe)`` with ``lr`` (1,3,h,w)
and ``sr`` (1,3,h*s,w*s) in [0, 1] on CPU. A model row goes through
:func:`srkit.infer.pipeline.super_resolve_image`, the code path of
``srkit upscale``: the image's seed is ``derive_seed(seed, name)`` there too, so
run 0 of a benchmark with ``--seed S`` reproduces ``srkit upscale --seed S`` on
the same LR file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor, nn

from srkit.bench.dataset import to_array, to_tensor
from srkit.diffusion.build import BoundSampler
from srkit.infer.bc import BoundaryCondition
from srkit.infer.run import UpscaleRun
from srkit.model import AnyModel, SRModel
from srkit.model.condition import upsample_condition
from srkit.nets.measure import param_count
from srkit.recipes import SamplerConfig


class Upscaler(Protocol):
    """A row's SR operator, its scale, the device it computes on and its parameter counts."""

    scale: int

    @property
    def device(self) -> torch.device: ...

    def __call__(self, lr: Tensor, *, seed: int, bc: BoundaryCondition | None = None) -> tuple[Tensor, int]: ...

    def parameters(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class BicubicUpscaler:
    """The baseline: ``y`` itself, the antialiased bicubic upsampling of the LR (a=-0.5), clamped to [0, 1]."""

    scale: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __call__(self, lr: Tensor, *, seed: int = 0, bc: BoundaryCondition | None = None) -> tuple[Tensor, int]:
        return upsample_condition(lr.to(self.device), self.scale).clamp(0.0, 1.0).cpu(), 0

    def parameters(self) -> dict[str, int]:
        return {}


@dataclass(frozen=True)
class ModelUpscaler:
    """A model (srkit or released) run as ``srkit upscale`` runs it: one :class:`~srkit.infer.run.UpscaleRun`.

    ``sampler``: the sampler settings (None: the recipe's; a released model takes none);
    ``tile``: output pixels, ``"auto"`` or None (whole image); ``bc``: the boundary
    condition every call starts from unless the call passes its own; ``color_fix``:
    ``auto`` (the model's own), ``none``, ``wavelet`` or ``adain``. Everything is checked once, when it is made.
    """

    model: AnyModel
    sampler: SamplerConfig | None = None
    tile: int | str | None = None
    overlap: int = 32
    bc: BoundaryCondition | None = None
    color_fix: str = "auto"
    run: UpscaleRun = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "run",
            UpscaleRun.build(self.model, sampler=self.sampler, tile=self.tile, overlap=self.overlap, color_fix=self.color_fix, bc=self.bc),
        )

    @property
    def scale(self) -> int:
        return int(self.model.scale)

    @property
    def bound(self) -> BoundSampler | None:
        """The sampler built for the run (None for a released model)."""
        return self.run.sampler

    @property
    def device(self) -> torch.device:
        return self.model.device

    def __call__(self, lr: Tensor, *, seed: int, bc: BoundaryCondition | None = None) -> tuple[Tensor, int]:
        """Super-resolve one LR image with the per-image ``seed`` (already derived from the image's name)."""
        result = self.run.super_resolve(to_array(lr), seed=seed, bc=bc, batch=1)  # a per-tile BC sets its own tiles
        return to_tensor(result.rgb), int(result.nfe)

    def parameters(self) -> dict[str, int]:
        """Parameter counts of the parts that run: ``net`` (denoiser), ``decoder``, ``autoencoder``, ``preprocess``."""
        if not isinstance(self.model, SRModel):
            return {"model": param_count(module)} if isinstance(module := getattr(self.model, "module", None), nn.Module) else {}
        parts = {"net": self.model.net, "decoder": self.model.decoder, "autoencoder": self.model.autoencoder,
                 "preprocess": getattr(self.model.preprocess, "module", None)}
        return {name: param_count(module) for name, module in parts.items() if isinstance(module, nn.Module)}


def parameter_text(parts: dict[str, int]) -> str:
    """``{"net": 310000, "decoder": 12000}`` -> ``"net 0.31M + decoder 0.012M"`` (``"-"`` when empty)."""
    return " + ".join(f"{name} {count / 1e6:.3g}M" for name, count in parts.items()) or "-"
