"""The CCSR scripts' optional tiled diffusion: every network evaluation made tile by tile on
the latent, the tiles' noise predictions blended with Gaussian weights.

CCSR v2 (``test_ccsr_tile.py --tile_diffusion``, ``_tile_predict``) and CCSR v1
(``inference_ccsr_tile.py --tile_diffusion``, ``sample_with_tile_ccsr``) keep one latent for
the whole image, so the sampler's random draws are whole-image draws; only each
ControlNet + UNet evaluation is split (CCSR v2 crops its condition latent per window, CCSR
v1 encodes each window's pixels with its condition encoder):

- windows of ``T = tile_size / f`` latent pixels (``f``: the VAE factor, 8) start every
  ``S = tile_stride / f`` along each axis, plus one ending at the border when the stride
  does not reach it exactly (``_sliding_windows``);
- each window's prediction is weighted by ``w(y, x) = g_y(y) g_x(x)`` with
  ``g(u) = exp(-(u - m)^2 / (2 * 0.01 * T^2))``, the width's midpoint ``m = (T - 1) / 2``
  and the height's ``m = T / 2`` (the official weights are not centred in height);
- the blend is ``sum_k w eps_k / sum_k w`` over the windows covering a pixel.

The official normalising constant ``1 / sqrt(2 pi 0.01)`` cancels in the blend and is left out.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from srkit.errors import UsageError

#: the variance of the official Gaussian weights, in units of the tile side squared
WEIGHT_VARIANCE = 0.01

Window = tuple[int, int, int, int]
Predict = Callable[[Tensor, Window], Tensor]  # (latent window, its (top, bottom, left, right)) -> noise prediction


def axis_windows(size: int, tile: int, stride: int) -> list[int]:
    """Starts along one axis: ``0, S, 2S, ...`` while a window fits, then ``size - T`` if not yet reached."""
    if size < tile:
        raise UsageError(f"tiled diffusion needs a latent of at least {tile} pixels per side, got {size}")
    starts = list(range(0, size - tile + 1, stride))
    if (size - tile) % stride:
        starts.append(size - tile)
    return starts


def sliding_windows(height: int, width: int, tile: int, stride: int) -> list[Window]:
    """``(top, bottom, left, right)`` of every window, rows outer, as the official ``_sliding_windows``."""
    return [(top, top + tile, left, left + tile) for top in axis_windows(height, tile, stride) for left in axis_windows(width, tile, stride)]


def tile_weights(tile: int) -> Tensor:
    """The official ``gaussian_weights`` of a ``tile x tile`` window (float64, up to a constant factor)."""

    def profile(midpoint: float) -> Tensor:
        u = torch.arange(tile, dtype=torch.float64)
        return torch.exp(-((u - midpoint) ** 2) / (tile * tile) / (2 * WEIGHT_VARIANCE))

    return profile(tile / 2)[:, None] * profile((tile - 1) / 2)[None, :]


def tiled_prediction(predict: Predict, x: Tensor, tile: int, stride: int) -> Tensor:
    """Blend ``predict`` over the windows of ``x`` (it gets each window of ``x`` and its coordinates); float32 sums,
    ``x``'s dtype out."""
    if not 0 < stride <= tile:
        raise UsageError(f"the tile stride must be in (0, tile], got tile {tile}, stride {stride}")
    weight = tile_weights(tile).to(device=x.device, dtype=torch.float32)
    total = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
    count = torch.zeros(x.shape, dtype=torch.float32, device=x.device)
    for window in sliding_windows(x.shape[-2], x.shape[-1], tile, stride):
        top, bottom, left, right = window
        eps = predict(x[..., top:bottom, left:right], window)
        total[..., top:bottom, left:right] += eps.float() * weight
        count[..., top:bottom, left:right] += weight
    return (total / count).to(x.dtype)


def latent_tile(pixels: int, latent_factor: int) -> int:
    """A tile size in image pixels as latent pixels (the official ``int(tile_size // 8)``)."""
    return int(pixels) // int(latent_factor)
