"""Apply a spatial map tile by tile with overlapping, smoothly blended tiles.

Used by the autoencoder's ``encode_tiled``/``decode_tiled``. A map ``fn`` turns an
``(N, C, h, w)`` tile into ``(N, C', h*num/den, w*num/den)`` (decode: 4/1,
encode: 1/4). Each tile's output is weighted by a window that ramps linearly
over ``overlap`` pixels at edges shared with a neighbour (and is flat at the
image border); the result is ``sum(w_i * out_i) / sum(w_i)``. Pixels covered by
one tile only, and farther than the map's receptive field from that tile's
edges, equal the untiled result exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from srkit.errors import UsageError

TileFn = Callable[[torch.Tensor], torch.Tensor]


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` covering ``[0, size)``, neighbours sharing >= ``overlap``.

    Starts step by ``tile - overlap``; the last tile ends exactly at ``size``.
    """
    if size <= tile:
        return [0]
    return list(range(0, size - tile, tile - overlap)) + [size - tile]


def blend_window(length: int, ramp_start: int, ramp_end: int) -> torch.Tensor:
    """1-D weights: linear ramps ``1/(r+1) .. r/(r+1)`` over ``ramp_start``/``ramp_end`` pixels, else 1."""
    i = torch.arange(length, dtype=torch.float32)
    w = torch.ones(length)
    if ramp_start > 0:
        w = torch.minimum(w, (i + 1) / (ramp_start + 1))
    if ramp_end > 0:
        w = torch.minimum(w, (length - i) / (ramp_end + 1))
    return w


def tiled_map(fn: TileFn, x: torch.Tensor, tile: int, overlap: int, num: int = 1, den: int = 1) -> torch.Tensor:
    """Apply ``fn`` over overlapping ``tile x tile`` windows of ``x`` and blend the outputs.

    The output is ``num/den`` times the input size; tile starts are aligned to
    ``den`` so every tile lands on the output grid. Accumulates in float32.
    """
    height, width = x.shape[-2:]
    if tile % den or overlap % den or height % den or width % den:
        raise UsageError(
            f"tile ({tile}), overlap ({overlap}) and image size ({height}x{width}) must be multiples of {den}"
        )
    if not 0 <= overlap < tile:
        raise UsageError(f"tile overlap must be in [0, tile), got overlap={overlap}, tile={tile}")
    if height <= tile and width <= tile:
        return fn(x)

    out = weight = None
    dtype = x.dtype
    rows, cols = tile_starts(height, tile, overlap), tile_starts(width, tile, overlap)
    for r in rows:
        for c in cols:
            th, tw = min(tile, height - r), min(tile, width - c)
            piece = fn(x[..., r : r + th, c : c + tw])
            dtype, piece = piece.dtype, piece.float()
            if out is None:
                out = piece.new_zeros(*piece.shape[:2], height * num // den, width * num // den)
                weight = piece.new_zeros(height * num // den, width * num // den)
            oh, ow = piece.shape[-2:]
            o_r, o_c = r * num // den, c * num // den
            ramp = overlap * num // den
            w = (
                blend_window(oh, ramp if r > 0 else 0, ramp if r + th < height else 0)[:, None]
                * blend_window(ow, ramp if c > 0 else 0, ramp if c + tw < width else 0)[None, :]
            )
            w = w.to(piece.device)
            out[..., o_r : o_r + oh, o_c : o_c + ow] += piece * w
            weight[o_r : o_r + oh, o_c : o_c + ow] += w
    assert out is not None and weight is not None
    return (out / weight).to(dtype)
