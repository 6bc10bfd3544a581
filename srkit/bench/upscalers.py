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
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor

from srkit.bench.dataset import to_array, to_tensor

if TYPE_CHECKING:
    from srkit.diffusion.build import BoundSampler
    from srkit.infer.bc import BoundaryCondition
    from srkit.infer.model import SRModel
    from srkit.recipes import SamplerConfig


class Upscaler(Protocol):
    """A row's SR operator, its scale, the device it computes on and its parameter counts."""

    scale: int

    @property
    def device(self) -> torch.device: ...

    def __call__(self, lr: Tensor, *, seed: int, bc: "BoundaryCondition | None" = None) -> tuple[Tensor, int]: ...

    def parameters(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class BicubicUpscaler:
    """The baseline: ``y`` itself, the antialiased bicubic upsampling of the LR (a=-0.5), clamped to [0, 1]."""

    scale: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __call__(self, lr: Tensor, *, seed: int = 0, bc: "BoundaryCondition | None" = None) -> tuple[Tensor, int]:
        from srkit.infer.resize import upsample_condition

        return upsample_condition(lr.to(self.device), self.scale).clamp(0.0, 1.0).cpu(), 0

    def parameters(self) -> dict[str, int]:
        return {}


@dataclass(frozen=True)
class ModelUpscaler:
    """An :class:`SRModel` sampled with ``sampler``; ``tile`` is output pixels, ``"auto"`` or None (whole image).

    ``bc``: the boundary condition every call starts from unless the call passes its own;
    ``color_fix``: ``none``, ``wavelet`` or ``adain`` (as ``srkit upscale --color-fix``).
    """

    model: "SRModel"
    sampler: "SamplerConfig"
    tile: int | str | None = None
    overlap: int = 32
    bc: "BoundaryCondition | None" = None
    color_fix: str = "none"
    scale: int = field(init=False)
    bound: "BoundSampler" = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from srkit.infer.bc import check_bc_for_run
        from srkit.infer.color_fix import color_fix_by_name
        from srkit.infer.upscale import parse_tile

        color_fix_by_name(self.color_fix)
        object.__setattr__(self, "bound", self.model.sampler(self.sampler))  # built and checked once, before any work
        if self.bc is not None:
            check_bc_for_run(self.bc, self.model, self.bound)
        object.__setattr__(self, "scale", self.model.scale)
        object.__setattr__(self, "tile", parse_tile(self.tile))

    @property
    def device(self) -> torch.device:
        return self.model.device

    def __call__(self, lr: Tensor, *, seed: int, bc: "BoundaryCondition | None" = None) -> tuple[Tensor, int]:
        """Super-resolve one LR image with the per-image ``seed`` (already derived from the image's name)."""
        from srkit.infer.color_fix import color_fix_by_name
        from srkit.infer.pipeline import Tiling, super_resolve_image
        from srkit.infer.upscale import tile_for

        bc = bc if bc is not None else self.bc
        height, width = lr.shape[-2] * self.scale, lr.shape[-1] * self.scale
        tile_size = tile_for(self.tile, self.model, height, width, batch=1)  # a per-tile BC sets its own tiles
        tiling = Tiling(tile_size, self.overlap)
        result = super_resolve_image(
            self.model, to_array(lr), seed=seed, sampler=self.bound, tiling=tiling, bc=bc, color_fix=color_fix_by_name(self.color_fix)
        )
        return to_tensor(result.rgb), int(result.nfe)

    def parameters(self) -> dict[str, int]:
        """Parameter counts of the parts that run: ``net`` (denoiser), ``decoder``, ``autoencoder``."""
        from srkit.nets.measure import param_count

        parts = {"net": self.model.net, "decoder": self.model.decoder, "autoencoder": self.model.autoencoder}
        return {name: param_count(module) for name, module in parts.items() if module is not None}


def parameter_text(parts: dict[str, int]) -> str:
    """``{"net": 310000, "decoder": 12000}`` -> ``"net 0.31M + decoder 0.012M"`` (``"-"`` when empty)."""
    return " + ".join(f"{name} {count / 1e6:.3g}M" for name, count in parts.items()) or "-"
