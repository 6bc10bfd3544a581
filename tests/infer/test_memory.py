"""--tile auto: the memory estimate and the tile plan for a 4000x3000 input stay within 24 GB."""

from __future__ import annotations

import pytest

from srkit.infer.memory import (
    BUDGET_FRACTION,
    IMAGE_BUFFER_BYTES_PER_PIXEL,
    auto_tile_size,
    free_memory_bytes,
    tile_bytes,
    unet_bytes_per_state_pixel,
)
from srkit.infer.tiling import plan_tiles
from srkit.nets.config import UNetConfig
from srkit.recipes import load_recipe

GIB = 1024**3


def test_unet_estimate_matches_the_documented_formula() -> None:
    net = UNetConfig(base_channels=64, channel_mult=(1, 2, 4, 8), num_res_blocks=2, head_channels=None)
    skips = 64 + sum(3 * 64 * m / 4**i for i, m in enumerate((1, 2, 4, 8)))
    assert unet_bytes_per_state_pixel(net, "fp32") == pytest.approx(4 * (skips + 8 * 64) * 2)
    assert unet_bytes_per_state_pixel(net, "bf16") == pytest.approx(unet_bytes_per_state_pixel(net, "fp32") / 2)


@pytest.mark.parametrize("method", ["dossr", "sr3", "resshift", "ccsr"])
@pytest.mark.parametrize("free,on_cpu", [(24 * GIB, True), (22 * GIB, False)])
def test_a_4000x3000_input_gets_a_tile_plan_that_fits_24_gb(method: str, free: int, on_cpu: bool) -> None:
    recipe = load_recipe(method)
    out_h, out_w = 3000 * recipe.scale, 4000 * recipe.scale
    tile = auto_tile_size(recipe, out_h, out_w, batch=1, precision="fp32", free_bytes=free, on_cpu=on_cpu)
    assert tile is not None and 64 <= tile <= 2048 and tile % 64 == 0
    buffers = out_h * out_w * IMAGE_BUFFER_BYTES_PER_PIXEL if on_cpu else 0
    peak = buffers + tile_bytes(recipe, tile, tile, 1, "fp32")
    assert peak <= free * BUDGET_FRACTION + buffers * (0 if on_cpu else 1)
    assert peak < 24 * GIB
    plan = plan_tiles(3000, 4000, (tile // recipe.scale,) * 2, 32 // recipe.scale)
    assert plan.count < 10_000 and plan.tile_height * recipe.scale <= tile


def test_small_images_are_not_tiled_and_batches_shrink_the_tile() -> None:
    recipe = load_recipe("dossr")
    assert auto_tile_size(recipe, 256, 256, batch=1, precision="fp32", free_bytes=8 * GIB, on_cpu=True) is None
    one = auto_tile_size(recipe, 8000, 8000, batch=1, precision="fp32", free_bytes=8 * GIB, on_cpu=False)
    four = auto_tile_size(recipe, 8000, 8000, batch=4, precision="fp32", free_bytes=8 * GIB, on_cpu=False)
    assert one is not None and four is not None and four < one


def test_free_memory_is_read_on_cpu() -> None:
    assert free_memory_bytes("cpu") > 0
