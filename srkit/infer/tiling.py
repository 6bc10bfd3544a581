"""Tile plans and Gaussian-tapered blending for images of any size.

Tiles are planned on the LR image (so every tile maps to whole output and
latent pixels) and each tile is super-resolved on its own: the whole
pipeline (condition, sampler, decoder) runs per tile, and the outputs are
blended. Memory is then bounded by the tile, not by the image.

A released model whose script chops large images itself (ResShift) is tiled as
that script does instead (:func:`plan_chop`): its own starts and a uniform average.

Blending: along each axis a tile's weight rises from 0 to 1 over the pixels
it shares with the previous tile and falls back over those it shares with the
next one, following a half Gaussian
``w(d) = (exp(-4.5 (1 - d/L)^2) - exp(-4.5)) / (1 - exp(-4.5))`` for
``d < L`` (``d`` = distance in pixels from the tile edge, measured at pixel
centres, ``L`` = the shared width; ``sigma = L/3``), and 1 elsewhere, also at
the image border. The 2-D weight is the product of the axis weights and the
image is ``sum_i w_i out_i / sum_i w_i``. The mixing coefficient is therefore
continuous (no seam), and a pixel covered by one tile only gets exactly that
tile's value, so tiled and untiled results agree wherever the model's view
of the pixel is the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from srkit.errors import UsageError

_TAPER = 4.5  # (L / sigma)^2 / 2 with sigma = L / 3


def axis_starts(size: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Evenly spaced starts of ``tile``-long windows covering ``[0, size)``, neighbours sharing >= ``overlap``.

    ``n = ceil((size - overlap) / (tile - overlap))`` windows, the first at 0 and
    the last ending at ``size``; starts are rounded to multiples of ``align``
    (``size`` and ``tile`` must be multiples of it). One window if ``size <= tile``.
    """
    if size <= tile:
        return [0]
    if not 0 <= overlap < tile:
        raise UsageError(f"tile overlap must be smaller than the tile, got overlap {overlap} for tile {tile}")
    count = math.ceil((size - overlap) / (tile - overlap))
    span = (size - tile) // align
    return sorted({align * round(i * span / (count - 1)) for i in range(count)})


def chop_starts(size: int, tile: int, stride: int) -> list[int]:
    """ResShift's ``ImageSpliterTh`` starts: ``0, stride, 2 stride, ...`` below ``size``, each start
    that would run past the end moved back to ``size - tile``, duplicates dropped. One window if ``size <= tile``."""
    if size <= tile:
        return [0]
    return list(dict.fromkeys(min(start, size - tile) for start in range(0, size, stride)))


def taper(length: int, ramp_start: int, ramp_end: int) -> Tensor:
    """1-D blending weights of a tile: half-Gaussian ramps over ``ramp_start``/``ramp_end`` pixels, else 1."""
    centres = torch.arange(length, dtype=torch.float64) + 0.5
    weight = torch.ones(length, dtype=torch.float64)
    floor = math.exp(-_TAPER)
    for ramp, distance in ((ramp_start, centres), (ramp_end, length - centres)):
        if ramp > 0:
            rise = (torch.exp(-_TAPER * (1.0 - distance / ramp).clamp(min=0.0) ** 2) - floor) / (1.0 - floor)
            weight = torch.minimum(weight, torch.where(distance < ramp, rise, torch.ones_like(rise)))
    return weight.float()


@dataclass(frozen=True)
class Tile:
    """One tile in LR pixels (``top``, ``left``, ``height``, ``width``) and its index in the plan."""

    index: int
    top: int
    left: int
    height: int
    width: int


@dataclass(frozen=True)
class TilePlan:
    """Tiles over an ``lr_height x lr_width`` image: row starts x column starts, one tile size."""

    lr_height: int
    lr_width: int
    tile_height: int
    tile_width: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    #: "gaussian" (srkit's tapered weights) or "uniform" (a plain average where tiles overlap, ResShift's chop)
    blend: str = "gaussian"

    @property
    def count(self) -> int:
        return len(self.rows) * len(self.cols)

    def tiles(self) -> list[Tile]:
        return [
            Tile(i * len(self.cols) + j, top, left, self.tile_height, self.tile_width)
            for i, top in enumerate(self.rows)
            for j, left in enumerate(self.cols)
        ]

    @staticmethod
    def _shared(starts: tuple[int, ...], k: int, tile: int) -> tuple[int, int]:
        before = starts[k - 1] + tile - starts[k] if k > 0 else 0
        after = starts[k] + tile - starts[k + 1] if k + 1 < len(starts) else 0
        return before, after

    def weight(self, tile: Tile, scale: int) -> Tensor:
        """The tile's blending weight on the output grid, shape ``(height*scale, width*scale)``."""
        if self.blend == "uniform":
            return torch.ones(tile.height * scale, tile.width * scale)
        i, j = self.rows.index(tile.top), self.cols.index(tile.left)
        top_before, top_after = self._shared(self.rows, i, self.tile_height)
        left_before, left_after = self._shared(self.cols, j, self.tile_width)
        rows = taper(tile.height * scale, top_before * scale, top_after * scale)
        cols = taper(tile.width * scale, left_before * scale, left_after * scale)
        return rows[:, None] * cols[None, :]


def plan_tiles(lr_height: int, lr_width: int, tile: tuple[int, int] | None, overlap: int, align: int = 1) -> TilePlan:
    """A plan with LR tiles of ``tile = (height, width)`` (None: one tile) and ``overlap`` LR pixels.

    Tile sizes are clipped to the image; sizes and overlap are rounded to
    multiples of ``align`` (tile down, overlap up) and the overlap is capped at
    half the tile. The image sides must be multiples of ``align`` (pad first).
    """
    if lr_height % align or lr_width % align:
        raise ValueError(f"image {lr_height}x{lr_width} is not a multiple of the alignment {align}")
    if tile is None:
        tile = (lr_height, lr_width)
    tile_h = max(align, min(lr_height, tile[0] // align * align))
    tile_w = max(align, min(lr_width, tile[1] // align * align))
    shared = -(-overlap // align) * align
    return TilePlan(
        lr_height,
        lr_width,
        tile_h,
        tile_w,
        tuple(axis_starts(lr_height, tile_h, min(shared, tile_h // 2 // align * align), align)),
        tuple(axis_starts(lr_width, tile_w, min(shared, tile_w // 2 // align * align), align)),
    )


def plan_chop(lr_height: int, lr_width: int, size: int, stride: int) -> TilePlan:
    """An official chop (:func:`chop_starts` on each axis, uniform blending): tiles of ``size`` LR
    pixels, or the whole side where it is not longer, on the unpadded image."""
    tile_h, tile_w = min(lr_height, size), min(lr_width, size)
    rows, cols = chop_starts(lr_height, size, stride), chop_starts(lr_width, size, stride)
    return TilePlan(lr_height, lr_width, tile_h, tile_w, tuple(rows), tuple(cols), blend="uniform")


class Blender:
    """Accumulates weighted tiles into an ``height x width x channels`` float32 image (on CPU)."""

    def __init__(self, height: int, width: int, channels: int = 3) -> None:
        self.sum = torch.zeros(height, width, channels)
        self.weight = torch.zeros(height, width, 1)

    def add(self, piece: Tensor, weight: Tensor, top: int, left: int) -> None:
        """Add ``piece`` (C, h, w) with ``weight`` (h, w) at output position ``(top, left)``."""
        h, w = piece.shape[-2:]
        w_cpu = weight.to("cpu", torch.float32)[:, :, None]
        self.sum[top : top + h, left : left + w].add_(piece.to("cpu", torch.float32).permute(1, 2, 0) * w_cpu)
        self.weight[top : top + h, left : left + w].add_(w_cpu)

    def result(self) -> np.ndarray:
        """The blended image as an HxWxC float32 array (divides in place; the blender is spent)."""
        self.sum.div_(self.weight.clamp_min_(1e-12))
        return self.sum.numpy()
