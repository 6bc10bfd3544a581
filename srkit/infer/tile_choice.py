"""``--tile auto`` by speed: the tile side with the least estimated compute within the memory limit.

A network call's cost per output pixel is not constant: on a CPU small tiles pay
per-call overheads and large ones fall out of cache and pay the UNet's global
attention, whose cost per pixel grows with the token count. With ``n(T)`` the
number of tiles of side ``T`` that the tile plan (:func:`srkit.infer.tiling.axis_starts`,
neighbours sharing ``overlap`` pixels) needs for the image, the estimated cost is::

    cost(T) = n(T) * T_h * T_w * c(sqrt(T_h T_w))

with ``c`` the relative cost per output pixel of one call at that side (1 at the
best side). ``c`` is measured (``python benchmarks/net_speed.py --net unet --tiles``:
the built-in UNet, one CPU thread, this repository's 2-core Xeon); between the
measured sides it is interpolated linearly, beyond the last one extrapolated along
the last segment. On other devices no table is known and ``c = 1``: the overlap
alone then favours the largest tile that fits, the former rule.
"""

from __future__ import annotations

import itertools
import math

from srkit.infer.tiling import axis_starts

# Relative seconds per output pixel of one call of the built-in UNet against the side, on CPU
# (benchmarks/RESULTS.md, "Tile size for --tile auto").
CPU_RELATIVE_COST: dict[int, float] = {
    64: 1.29, 96: 1.14, 128: 1.07, 192: 1.0, 256: 1.08, 384: 1.21, 512: 1.26, 768: 1.86, 1024: 2.31,
}
TILE_STEP = 64
TILING_GAIN = 0.75  # tile a whole image that fits only if tiles need at most 75% of its compute
TILE_SLACK = 0.05  # among tiles, the largest within 5% of the cheapest (fewer seams, more context)


def relative_cost(side: float, device_type: str) -> float:
    """``c(side)``: relative cost per output pixel of one call on ``device_type`` (see the module docstring)."""
    if device_type != "cpu":
        return 1.0
    sides = sorted(CPU_RELATIVE_COST)
    if side <= sides[0]:
        return CPU_RELATIVE_COST[sides[0]]
    # the segment holding ``side``, or the last one (extrapolation)
    lo, hi = next(((a, b) for a, b in itertools.pairwise(sides) if side <= b), (sides[-2], sides[-1]))
    c_lo, c_hi = CPU_RELATIVE_COST[lo], CPU_RELATIVE_COST[hi]
    return c_lo + (c_hi - c_lo) * (side - lo) / (hi - lo)


def estimated_cost(out_h: int, out_w: int, tile: int | None, overlap: int, device_type: str) -> float:
    """Relative compute to super-resolve ``out_h x out_w`` in tiles of ``tile`` (None: one whole-image call)."""
    if tile is None or tile >= max(out_h, out_w):
        return out_h * out_w * relative_cost(math.sqrt(out_h * out_w), device_type)
    th, tw = min(tile, out_h), min(tile, out_w)
    count = len(axis_starts(out_h, th, overlap)) * len(axis_starts(out_w, tw, overlap))
    return count * th * tw * relative_cost(math.sqrt(th * tw), device_type)


def fastest_tile(out_h: int, out_w: int, largest: int | None, overlap: int, device_type: str) -> int | None:
    """The tile side (multiple of 64, > ``overlap``) to use up to ``largest``, or None for the whole image.

    ``largest`` is the memory limit (:func:`srkit.infer.memory.auto_tile_size`): None
    when the whole image fits. Tiles change the output (the network sees less
    context, tiles are blended), so the whole image is kept unless tiling is
    estimated to save at least ``1 - TILING_GAIN`` of the compute (more than the
    table's measurement noise), and among tiles the largest within ``TILE_SLACK``
    of the cheapest is taken.
    """
    limit = max(out_h, out_w) if largest is None else largest
    sides = [s for s in range(TILE_STEP, limit + 1, TILE_STEP) if s > overlap and s < max(out_h, out_w)]
    if not sides:
        return largest
    costs = {side: estimated_cost(out_h, out_w, side, overlap, device_type) for side in sides}
    cheapest = min(costs.values())
    if largest is None and cheapest > TILING_GAIN * estimated_cost(out_h, out_w, None, overlap, device_type):
        return None
    return max(side for side, cost in costs.items() if cost <= cheapest * (1 + TILE_SLACK))
