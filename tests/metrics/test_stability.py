"""G-STD and L-STD (CCSR eqs. 4-5) against hand-computed values on constructed inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srkit.errors import InputError
from srkit.metrics.stability import RunningStd, g_std, image_l_std, l_std, std_over_runs

from .images import real_like


def test_g_std_of_identical_runs_is_exactly_zero():
    per_image = [31.234567891, 0.1 + 0.2, 1e-7]
    values = [per_image] * 10  # 10 runs x 3 images
    assert g_std(values) == 0.0


def test_g_std_matches_hand_computed_population_std():
    # image 1 runs (1, 3, 5): var = (4 + 0 + 4) / 3; image 2 runs (10, 10, 16): mean 12, var = (4 + 4 + 16) / 3
    values = [[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]]
    assert g_std(values) == pytest.approx((math.sqrt(8 / 3) + math.sqrt(8)) / 2, abs=1e-12)


def test_g_std_divides_by_n_not_n_minus_one():
    assert g_std([[0.0], [2.0]]) == pytest.approx(1.0, abs=1e-15)  # the sample std would be sqrt(2)


def test_g_std_rejects_a_flat_list():
    with pytest.raises(InputError, match="runs, images"):
        g_std([1.0, 2.0, 3.0])


def test_l_std_of_identical_runs_is_exactly_zero():
    image = real_like(17, 23)[0]
    runs = image.expand(10, 2, *image.shape).clone()  # (N=10, M=2, C, H, W), all runs equal
    assert l_std(runs) == 0.0


def test_l_std_of_two_known_runs_is_half_their_mean_absolute_difference():
    a = real_like(16, 20, seed=1)[0]
    b = real_like(16, 20, seed=2)[0]
    expected = float((a - b).abs().mean() / 2)  # per pixel, the population std of {a, b} is |a - b| / 2
    assert l_std(torch.stack([a, b])[:, None]) == pytest.approx(expected, abs=1e-15)


def test_l_std_of_constant_images_matches_closed_form():
    runs = torch.stack([torch.full((3, 4, 5), v, dtype=torch.float64) for v in (0.1, 0.2, 0.6)])
    mean = 0.3
    expected = math.sqrt(((0.1 - mean) ** 2 + (0.2 - mean) ** 2 + (0.6 - mean) ** 2) / 3)
    assert image_l_std(runs) == pytest.approx(expected, abs=1e-15)


def test_l_std_averages_images_of_different_sizes_per_image():
    f64 = {"dtype": torch.float64}
    small = torch.stack([torch.zeros(3, 8, 8, **f64), torch.full((3, 8, 8), 0.2, **f64)])  # L-STD 0.1
    large = torch.stack([torch.zeros(3, 20, 30, **f64), torch.full((3, 20, 30), 0.6, **f64)])  # L-STD 0.3
    assert l_std([small, large]) == pytest.approx(0.2, abs=1e-12)


def test_l_std_treats_colour_channels_like_pixels():
    g = torch.Generator().manual_seed(0)
    grey_runs = torch.rand(5, 1, 12, 12, generator=g, dtype=torch.float64)
    assert image_l_std(grey_runs.expand(5, 3, 12, 12)) == pytest.approx(image_l_std(grey_runs), abs=1e-15)


def test_l_std_streamed_one_run_at_a_time_equals_the_stacked_tensor():
    g = torch.Generator().manual_seed(1)
    runs = torch.rand(10, 3, 3, 15, 11, generator=g, dtype=torch.float64)  # N=10, M=3
    accumulators = []
    for j in range(3):
        acc = RunningStd()
        for i in range(10):
            acc.add(runs[i, j])
        accumulators.append(acc)
    assert l_std(accumulators) == pytest.approx(l_std(runs), abs=1e-15)


def test_running_std_equals_numpy_population_std():
    g = torch.Generator().manual_seed(2)
    samples = torch.rand(10, 4, 6, generator=g, dtype=torch.float64)
    expected = np.std(samples.numpy(), axis=0, ddof=0)
    np.testing.assert_allclose(std_over_runs(samples).numpy(), expected, atol=1e-14, rtol=0)
    acc = RunningStd()
    for s in samples:
        acc.add(s)
    np.testing.assert_allclose(acc.mean().numpy(), samples.numpy().mean(axis=0), atol=1e-14, rtol=0)


def test_running_std_rejects_runs_of_different_shapes():
    acc = RunningStd()
    acc.add(torch.zeros(3, 4, 4))
    with pytest.raises(InputError, match="same shape"):
        acc.add(torch.zeros(3, 4, 5))


def test_l_std_rejects_a_four_dimensional_tensor():
    with pytest.raises(InputError, match="runs, images, C, H, W"):
        l_std(torch.zeros(2, 3, 4, 4))


def test_g_std_of_unavailable_metric_strings_is_an_input_error():
    with pytest.raises(InputError, match="needs numbers"):
        g_std([["unavailable: x missing"], ["unavailable: x missing"]])
