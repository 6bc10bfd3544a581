"""Super-resolve one whole image of any size: pad, tile, sample each tile, colour-fix, blend.

Randomness (docs/inference.md): the image's seed comes from ``(seed, key)``;
its start noise is one :class:`~srkit.infer.seeding.NoiseField` over the whole
state grid, cut per tile, so every tile starts from the same numbers as the
untiled run at those positions. The per-step noise of a stochastic sampler
is, untiled, drawn from a generator seeded with the image seed; tiled, each
draw is again a position-keyed field over the whole image
(:class:`~srkit.infer.seeding.TiledStepNoise`), so overlapping tiles get the same
noise where they overlap and outputs do not depend on ``--batch``. Hence
deterministic samplers give tiled == untiled wherever the network sees the same
context, and stochastic ones sample overlaps with the same noise.
With a boundary condition in mode ``mosaic`` the start-noise field is the BC
repeated periodically; in mode ``tile`` tiles have exactly the BC's size and
each starts from the BC (see :mod:`srkit.infer.bc`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from srkit.diffusion.build import BoundSampler
from srkit.diffusion.noise import Noise
from srkit.errors import SettingError, UsageError
from srkit.infer.bc import (
    BCMosaic,
    BoundaryCondition,
    bc_sampler_config,
    bc_tile_lr,
    stack_bc,
)
from srkit.infer.seeding import NoiseField, TiledStepNoise, cpu_generator, derive_seed
from srkit.infer.tiling import Blender, Tile, TilePlan, plan_chop, plan_tiles
from srkit.model import AnyModel, SRModel
from srkit.model.color_fix import ColorFix
from srkit.model.condition import upsample_condition
from srkit.model.surface import position_keyed
from srkit.recipes import SamplerConfig
from srkit.released.base import OfficialChop

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Tiling:
    """``tile``: output tile side in pixels (None = whole image); ``overlap`` in output pixels; ``batch`` tiles per call.

    ``chop``: a released model's official chop (ResShift's), used instead of ``tile`` and ``overlap``.
    """

    tile: int | None = None
    overlap: int = 32
    batch: int = 1
    chop: OfficialChop | None = None

    def __post_init__(self) -> None:
        if self.tile is not None and self.tile < 8:
            raise SettingError("tile", f"must be at least 8 output pixels (or 0 / auto), got {self.tile}")
        if self.overlap < 0:
            raise SettingError("tile_overlap", f"must be >= 0, got {self.overlap}")
        if self.batch < 1:
            raise SettingError("batch", f"must be >= 1, got {self.batch}")


@dataclass(frozen=True)
class ImageResult:
    """The SR image (HxWx3 float32 in [0, 1]), NFE per sample, network calls made and the tile plan."""

    rgb: np.ndarray
    nfe: int
    network_calls: int
    tiles: int
    tile_size: tuple[int, int]


def alignment(model: AnyModel) -> int:
    """LR multiple that maps to whole latent pixels, ``f / gcd(scale, f)`` (1 in pixel mode), and that a
    released model pads to itself (its ``lr_multiple``, e.g. ResShift's Swin windows), so tiles need no own padding.
    A model that resizes its input itself (not :func:`position_keyed`) takes any size: only its ``lr_multiple``."""
    own = int(getattr(model, "lr_multiple", 1))
    if not position_keyed(model):
        return own
    f = model.latent_factor
    return math.lcm(f // math.gcd(model.scale, f), own)


def pad_lr(lr: Tensor, height: int, width: int) -> Tensor:
    """Pad ``lr`` (1,3,h,w) at the bottom/right to ``height x width``: reflect where possible, else replicate."""
    pad_h, pad_w = height - lr.shape[-2], width - lr.shape[-1]
    if pad_h == 0 and pad_w == 0:
        return lr
    mode = "reflect" if pad_h < lr.shape[-2] and pad_w < lr.shape[-1] else "replicate"
    return F.pad(lr, (0, pad_w, 0, pad_h), mode=mode)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def plan_for(model: AnyModel, height: int, width: int, tiling: Tiling, bc: BoundaryCondition | None) -> TilePlan:
    """The tile plan on the padded LR image (padded to the alignment, and up to the BC's tile size),
    or an official chop on the image as it is (the model pads each tile itself)."""
    if tiling.chop is not None:
        return plan_chop(height, width, tiling.chop.size, tiling.chop.stride)
    align = alignment(model)
    overlap_lr = math.ceil(tiling.overlap / model.scale)
    if bc is not None and bc.per_tile:
        tile_h, tile_w = bc_tile_lr(bc, scale=model.scale, latent_factor=model.latent_factor)
        padded_h, padded_w = _round_up(max(height, tile_h), align), _round_up(max(width, tile_w), align)
        return plan_tiles(padded_h, padded_w, (tile_h, tile_w), overlap_lr, align)
    tile = None if tiling.tile is None else (tiling.tile // model.scale,) * 2
    return plan_tiles(_round_up(height, align), _round_up(width, align), tile, overlap_lr, align)


def _start_noise(model: AnyModel, field: NoiseField | BCMosaic, tiles: list[Tile], bc: BoundaryCondition | None) -> Tensor:
    if bc is not None and bc.per_tile:
        return stack_bc(bc, len(tiles))
    return torch.stack([field.crop(*box) for box in _state_boxes(model, tiles)])


def _state_boxes(model: AnyModel, tiles: list[Tile]) -> list[tuple[int, int, int, int]]:
    """Each tile's ``(top, left, height, width)`` on the state grid (LR offsets are aligned, so x * s / f is exact)."""
    s, f = model.scale, model.latent_factor
    return [(t.top * s // f, t.left * s // f, t.height * s // f, t.width * s // f) for t in tiles]


def _sampler_for_bc(model: SRModel, sampler: BoundSampler | SamplerConfig | None, bc: BoundaryCondition | None) -> BoundSampler | SamplerConfig:
    """The run's sampler, rebound only where a BC must be sampled with the spacing it was found with
    (:func:`~srkit.infer.bc.bc_sampler_config`: the run leaves the spacing at its default)."""
    if sampler is None:
        sampler = model.sampler()
    if bc is None:
        return sampler
    cfg = sampler if isinstance(sampler, SamplerConfig) else sampler.config
    if cfg is None:
        return sampler
    wanted = bc_sampler_config(bc, cfg)
    return sampler if wanted is cfg else model.sampler(wanted)


def super_resolve_image(
    model: AnyModel,
    rgb: np.ndarray,
    *,
    seed: int,
    sampler: BoundSampler | None = None,
    tiling: Tiling = Tiling(),
    bc: BoundaryCondition | None = None,
    color_fix: ColorFix | None = None,
    on_tiles: Progress | None = None,
    on_steps: Progress | None = None,
) -> ImageResult:
    """Super-resolve an HxWx3 float array in [0, 1] by the model's scale; see the module docstring.

    ``model``: an :class:`SRModel` or anything with the released-model surface (:mod:`srkit.model.surface`).
    ``sampler``: built once per run (``model.sampler(cfg)``); None uses the recipe's (a released model takes none).
    ``color_fix``: a fix applied to each tile after a released model, against the bicubic upsampling (an
    :class:`SRModel` applies its own, ``model.color_fix``, against its condition image).
    ``on_tiles(done, total)`` is called after every batch of tiles, ``on_steps(done, total)``
    after every network evaluation of the current batch.
    """
    height, width = rgb.shape[:2]
    scale = model.scale
    if isinstance(model, SRModel):
        sampling: dict = {"sampler": _sampler_for_bc(model, sampler, bc)}
    elif sampler is not None:
        raise UsageError(f"the released model {model.model_id} samples as released and takes no sampler")
    else:
        sampling = {}
    plan = plan_for(model, height, width, tiling, bc)
    lr = pad_lr(torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None], plan.lr_height, plan.lr_width)
    keyed = position_keyed(model) and tiling.chop is None
    if keyed:
        _, channels, state_h, state_w = model.start_shape(lr.shape)
        field = BCMosaic(bc) if bc is not None and not bc.per_tile else NoiseField(seed, channels, state_h, state_w)
    blender = Blender(plan.lr_height * scale, plan.lr_width * scale)
    tiles = plan.tiles()
    # unkeyed (a resizing model, an official chop): tiles one by one in plan order, all drawing from one generator
    per_call = tiling.batch if keyed else 1
    shared = cpu_generator(derive_seed(seed, "steps", 0))
    nfe = calls = 0
    for first in range(0, len(tiles), per_call):
        group = tiles[first : first + per_call]
        lr_tiles = torch.cat([lr[..., t.top : t.top + t.height, t.left : t.left + t.width] for t in group])
        noise = _start_noise(model, field, group, bc) if keyed else None
        generator: Noise = shared
        if keyed and len(tiles) > 1:
            generator = TiledStepNoise(derive_seed(seed, "steps"), channels, state_h, state_w, _state_boxes(model, group))
        callback = None if on_steps is None else (lambda info: on_steps(info["i"] + 1, info["total"]))
        sr, nfe = model.super_resolve(lr_tiles, **sampling, noise=noise, generator=generator, callback=callback)
        calls += nfe
        if color_fix is not None and not isinstance(model, SRModel):
            sr = color_fix(sr, upsample_condition(lr_tiles.to(sr.device), scale).clamp(0.0, 1.0))
        for tile, piece in zip(group, sr, strict=True):
            blender.add(piece, plan.weight(tile, scale), tile.top * scale, tile.left * scale)
        if on_tiles is not None:
            on_tiles(first + len(group), len(tiles))
    out = blender.result()[: height * scale, : width * scale]
    return ImageResult(out, nfe, calls, len(tiles), (plan.tile_height * scale, plan.tile_width * scale))
