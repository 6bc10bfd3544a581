"""Tile plans and Gaussian-tapered blending: coverage, exactness, and no seams."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srkit.errors import UsageError
from srkit.infer.tiling import (
    Blender,
    axis_starts,
    chop_starts,
    plan_chop,
    plan_tiles,
    taper,
)


@pytest.mark.parametrize("size,tile,overlap,align", [(100, 32, 8, 1), (97, 20, 5, 1), (64, 16, 4, 4), (33, 33, 8, 1), (10, 32, 8, 1)])
def test_axis_starts_cover_the_axis_with_at_least_the_overlap(size: int, tile: int, overlap: int, align: int) -> None:
    starts = axis_starts(size, tile, overlap, align)
    assert starts[0] == 0
    if size <= tile:
        assert starts == [0]
        return
    assert starts[-1] + tile == size
    assert all(s % align == 0 for s in starts)
    assert all(b - a <= tile - overlap for a, b in zip(starts, starts[1:]))  # neighbours share >= overlap
    assert len(starts) == math.ceil((size - overlap) / (tile - overlap))


def test_axis_starts_refuse_an_overlap_as_large_as_the_tile() -> None:
    with pytest.raises(UsageError):
        axis_starts(100, 16, 16)


def test_taper_is_flat_without_neighbours_and_rises_from_zero_over_the_shared_pixels() -> None:
    assert torch.equal(taper(10, 0, 0), torch.ones(10))
    w = taper(40, 16, 8)
    assert 0 < w[0] < 0.02 and 0 < w[-1] < 0.05  # ~0 at edges shared with a neighbour
    assert torch.all(w[16:32] == 1)  # flat between the ramps
    assert torch.all(torch.diff(w[:16]) > 0) and torch.all(torch.diff(w[-8:]) < 0)
    # half-Gaussian closed form at a pixel centre d = 8.5 of a 16-pixel ramp
    floor = math.exp(-4.5)
    expected = (math.exp(-4.5 * (1 - 8.5 / 16) ** 2) - floor) / (1 - floor)
    assert w[8].item() == pytest.approx(expected, rel=1e-6)


def _blend(plan, pieces_of, scale: int = 1) -> np.ndarray:
    blender = Blender(plan.lr_height * scale, plan.lr_width * scale, 1)
    for tile in plan.tiles():
        blender.add(pieces_of(tile), plan.weight(tile, scale), tile.top * scale, tile.left * scale)
    return blender.result()[..., 0]


def test_blending_crops_of_one_image_gives_that_image_back() -> None:
    image = torch.rand(1, 37, 53, generator=torch.Generator().manual_seed(0))
    plan = plan_tiles(37, 53, (16, 16), 5)
    assert plan.count > 4
    out = _blend(plan, lambda t: image[:, t.top : t.top + t.height, t.left : t.left + t.width])
    np.testing.assert_allclose(out, image[0].numpy(), atol=1e-6)


def test_blending_has_no_seam_between_tiles_that_disagree() -> None:
    """Two tiles with constant outputs 0 and 1: the blend must spread the jump over the overlap."""
    plan = plan_tiles(8, 96, (8, 64), 32)
    assert plan.cols == (0, 32)
    out = _blend(plan, lambda t: torch.full((1, t.height, t.width), float(t.left > 0)))
    row = out[0]
    assert row[0] == 0 and row[-1] == 1
    steps = np.diff(row)
    assert np.all(steps >= -1e-7)  # monotone transition
    assert steps.max() < 0.12  # a hard seam would jump by 1.0 at one pixel
    assert np.all(row[:32] == 0) and np.all(row[64:] == 1)  # single-covered pixels keep their tile's value


def test_plan_rounds_tiles_to_the_alignment_and_clips_them_to_the_image() -> None:
    plan = plan_tiles(24, 40, (18, 18), 3, align=4)
    assert (plan.tile_height, plan.tile_width) == (16, 16)
    assert all(s % 4 == 0 for s in plan.rows + plan.cols)
    whole = plan_tiles(24, 40, None, 3)
    assert whole.count == 1 and (whole.tile_height, whole.tile_width) == (24, 40)


@pytest.mark.parametrize("size, tile, stride, starts", [
    (512, 512, 448, [0]),            # not longer than the tile: one window
    (300, 512, 448, [0]),
    (600, 512, 448, [0, 88]),        # 448 would run past 600: moved back to 600 - 512
    (1000, 512, 448, [0, 448, 488]),
    (1400, 512, 448, [0, 448, 888]),  # 896 and 1344 both move back to 888, kept once
    (1344, 512, 448, [0, 448, 832]),
])
def test_chop_starts_follow_resshifts_image_spliter(size: int, tile: int, stride: int, starts: list[int]) -> None:
    assert chop_starts(size, tile, stride) == starts


def test_a_chop_plan_averages_its_tiles_uniformly_on_the_unpadded_image() -> None:
    plan = plan_chop(600, 300, 512, 448)
    assert (plan.lr_height, plan.lr_width, plan.tile_height, plan.tile_width) == (600, 300, 512, 300)
    assert plan.rows == (0, 88) and plan.cols == (0,) and plan.blend == "uniform"
    for tile in plan.tiles():
        assert torch.equal(plan.weight(tile, 2), torch.ones(1024, 600))
