import itertools

import pytest
import torch
import torch.nn.functional as F

from srkit.errors import UsageError
from srkit.nets.tiling import blend_window, tile_starts, tiled_map

from .helpers import randn


@pytest.mark.parametrize("size,tile,overlap", [(100, 32, 8), (64, 32, 16), (33, 32, 4), (20, 32, 4), (97, 40, 0)])
def test_tiles_cover_the_image_and_neighbours_share_at_least_the_overlap(size, tile, overlap):
    starts = tile_starts(size, tile, overlap)
    assert starts[0] == 0 and min(size, starts[-1] + tile) == size
    for a, b in itertools.pairwise(starts):
        assert a + tile - b >= overlap and b > a


def test_blend_window_ramps_linearly_inside_and_is_flat_at_the_border():
    assert blend_window(6, 2, 0).tolist() == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1])
    assert blend_window(6, 0, 2).tolist() == pytest.approx([1, 1, 1, 1, 2 / 3, 1 / 3])


def test_tiled_identity_map_reproduces_the_input_exactly():
    x = randn(2, 3, 50, 70, seed=0)
    torch.testing.assert_close(tiled_map(lambda t: t, x, tile=16, overlap=6), x)


def test_tiled_local_upsampling_map_equals_untiled_everywhere():
    up = lambda t: F.interpolate(t, scale_factor=4, mode="nearest")
    x = randn(1, 2, 24, 36, seed=1)
    torch.testing.assert_close(tiled_map(up, x, tile=12, overlap=4, num=4), up(x))


def test_tiled_downsampling_map_equals_untiled_everywhere():
    down = lambda t: F.avg_pool2d(t, 4)
    x = randn(1, 2, 48, 64, seed=2)
    torch.testing.assert_close(tiled_map(down, x, tile=24, overlap=8, den=4), down(x))


def test_tiled_map_rejects_tiles_off_the_output_grid():
    with pytest.raises(UsageError, match="multiples of 4"):
        tiled_map(lambda t: t, torch.zeros(1, 1, 64, 64), tile=30, overlap=8, den=4)
    with pytest.raises(UsageError, match="overlap"):
        tiled_map(lambda t: t, torch.zeros(1, 1, 64, 64), tile=16, overlap=16)
