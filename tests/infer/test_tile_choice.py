"""``--tile auto`` by speed (``srkit.infer.tile_choice``): the cost model and the choice it makes."""

from __future__ import annotations

import pytest

from srkit.infer.tile_choice import (
    CPU_RELATIVE_COST,
    estimated_cost,
    fastest_tile,
    relative_cost,
)


def test_relative_cost_interpolates_the_table_and_is_flat_off_cpu() -> None:
    assert relative_cost(192, "cpu") == CPU_RELATIVE_COST[192]
    assert relative_cost(160, "cpu") == pytest.approx((CPU_RELATIVE_COST[128] + CPU_RELATIVE_COST[192]) / 2)
    assert relative_cost(2048, "cpu") > CPU_RELATIVE_COST[1024]
    assert relative_cost(2048, "cuda") == relative_cost(64, "cuda") == 1.0


def test_cost_counts_every_tile_of_the_plan() -> None:
    # 2048 px with tiles of 256 sharing 32 px: ceil((2048 - 32) / 224) = 9 tiles per axis
    assert estimated_cost(2048, 2048, 256, 32, "cuda") == 81 * 256 * 256
    assert estimated_cost(300, 200, None, 32, "cuda") == 300 * 200


def test_cpu_picks_a_mid_size_tile_for_a_2048_output_not_the_largest_that_fits() -> None:
    tile = fastest_tile(2048, 2048, None, 32, "cpu")
    assert tile is not None and 192 <= tile <= 512
    costs = {t: estimated_cost(2048, 2048, t, 32, "cpu") for t in (None, 1024, 512, 128)}
    assert all(estimated_cost(2048, 2048, tile, 32, "cpu") <= c for c in costs.values())


def test_small_outputs_run_whole_and_the_memory_limit_is_respected() -> None:
    assert fastest_tile(512, 512, None, 32, "cpu") is None
    assert fastest_tile(4000, 3000, 320, 32, "cpu") <= 320
    assert fastest_tile(4000, 3000, 64, 32, "cpu") == 64


def test_off_cpu_the_whole_image_wins_when_it_fits() -> None:
    assert fastest_tile(2048, 2048, None, 32, "cuda") is None


def test_a_whole_image_that_fits_is_tiled_only_for_a_clear_gain() -> None:
    # 512x768 in 192-px tiles is estimated ~8% cheaper: not worth changing the output
    assert estimated_cost(512, 768, 192, 32, "cpu") < estimated_cost(512, 768, None, 32, "cpu")
    assert fastest_tile(512, 768, None, 32, "cpu") is None
    # 1024x1536: tiles need ~58% of the whole-image compute
    assert fastest_tile(1024, 1536, None, 32, "cpu") is not None
