"""The CPU fast path of ``filter2d`` / USM (OpenCV, separable SVD terms) equals the grouped convolution."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from srkit.degrade.kernels import build_kernel
from srkit.degrade.ops import (
    _correlate_rows,
    _opencv_plan,
    _separable_blur,
    filter2d,
    filter2d_conv,
    opencv_gaussian_taps,
)
from srkit.degrade.params import DegradationParams
from srkit.degrade.pipeline import apply
from srkit.degrade.preset import load_preset
from srkit.degrade.sampling import pair_rng, sample_kernel, sample_params


def _kernels(count: int) -> list[np.ndarray]:
    spec = load_preset("realesrgan").first.blur
    return [build_kernel(sample_kernel(spec, pair_rng(7, i))).astype(np.float32) for i in range(count)]


def test_opencv_filter2d_equals_the_grouped_convolution_for_every_kernel_family() -> None:
    kernels = _kernels(24)
    padded = [np.pad(k, (21 - k.shape[0]) // 2) for k in kernels]
    x = torch.rand(len(kernels), 3, 70, 53, generator=torch.Generator().manual_seed(0))
    stack = torch.from_numpy(np.stack(padded))
    fast, reference = filter2d(x, stack), filter2d_conv(x, stack)
    assert (fast - reference).abs().max() < 2e-6


def test_separable_plans_are_used_and_reproduce_the_kernel() -> None:
    plans = [_opencv_plan(k) for k in _kernels(24)]
    separable = [p for p in plans if isinstance(p, list)]
    assert separable and any(len(p) == 1 for p in separable)
    for kernel, plan in zip(_kernels(24), plans):
        if isinstance(plan, list):
            rebuilt = sum(np.outer(col, row) for col, row in plan)
            rebuilt = np.pad(rebuilt, (kernel.shape[0] - rebuilt.shape[0]) // 2)  # zero rings were trimmed
            np.testing.assert_allclose(rebuilt, kernel, atol=1e-7)


@pytest.mark.parametrize("shape", [(2, 3, 64, 80), (1, 1, 30, 200)])
def test_opencv_usm_blur_equals_the_banded_products(shape: tuple[int, ...]) -> None:
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(1))
    taps = opencv_gaussian_taps(51 if min(shape[-2:]) > 25 else 7)
    banded = _correlate_rows(_correlate_rows(x, taps).transpose(-1, -2), taps).transpose(-1, -2)
    assert (_separable_blur(x, taps) - banded).abs().max() < 2e-6


def test_params_replayed_through_json_give_bit_identical_pairs_in_another_batch() -> None:
    spec = load_preset("realesrgan")
    params = [sample_params(spec, pair_rng(3, i), 4) for i in range(6)]
    hr = torch.rand(6, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    first = apply(hr, params).lr
    replayed = [DegradationParams.from_dict(json.loads(json.dumps(p.to_dict()))) for p in params]
    again = torch.cat([apply(hr[i : i + 1], [replayed[i]]).lr for i in reversed(range(6))][::-1])
    assert torch.equal(first, again)
