"""OpenCV charts: tick placement and that series and points land where the axes say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srkit.errors import UsageError
from srkit.io.images import read_image
from srkit.plotting import Axis, PALETTE, line_plot, nice_ticks, scatter_plot


def test_nice_ticks_use_round_steps_inside_the_range() -> None:
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0.013, 0.57) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert nice_ticks(-3.0, 1234.0) == [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0]


def test_axis_maps_linear_and_log_values_to_pixels() -> None:
    assert Axis(0.0, 10.0, 100, 200).to_pixel(2.5) == 125
    assert Axis(1.0, 100.0, 400, 0, log=True).to_pixel(10.0) == 200


def colour_pixels(path: Path, rgb: tuple[int, int, int]) -> np.ndarray:
    image = np.rint(read_image(path).rgb * 255).astype(int)
    return np.argwhere(np.abs(image - np.array(rgb)).sum(axis=2) < 30)


def test_line_plot_draws_each_series_in_its_colour(tmp_path: Path) -> None:
    steps = list(range(1, 51))
    path = line_plot(tmp_path / "loss.png", {"a": (steps, [1.0 / s for s in steps]), "b": (steps, [0.5] * 50)},
                     title="loss", log_y=True, size=(400, 300))
    assert read_image(path).rgb.shape == (300, 400, 3)
    falling, flat = colour_pixels(path, PALETTE[0]), colour_pixels(path, PALETTE[1])
    assert len(falling) > 100 and len(flat) > 100
    assert np.ptp(flat[:, 0]) < 20  # a constant series is a horizontal line (plus its legend swatch)


def test_scatter_plot_places_points_by_value(tmp_path: Path) -> None:
    path = scatter_plot(tmp_path / "pd.png", [(0.1, 30.0, "low"), (0.4, 20.0, "high")], size=(400, 300))
    low, high = colour_pixels(path, PALETTE[0]), colour_pixels(path, PALETTE[1])
    assert low[:, 1].min() < high[:, 1].min() and low[:, 0].min() < high[:, 0].min()


def test_nothing_finite_to_plot_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nothing to plot"):
        line_plot(tmp_path / "x.png", {"a": ([1, 2], [float("nan"), float("inf")])})
