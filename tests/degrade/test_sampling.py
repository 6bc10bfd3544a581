"""Sampled values: frequencies and ranges match each preset over a few hundred draws; seeding is per pair."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from srkit.degrade.params import DegradationParams, KernelParams, StageParams
from srkit.degrade.preset import BlurSpec, StageSpec, load_preset
from srkit.degrade.sampling import pair_rng, sample_beta, sample_params

DRAWS = 600


def _draws(name: str, seed: int = 7) -> list[DegradationParams]:
    preset = load_preset(name)
    return [sample_params(preset, pair_rng(seed, i), 4) for i in range(DRAWS)]


def _assert_frequency(hits: int, total: int, p: float) -> None:
    """Observed frequency within 4.5 binomial standard deviations of ``p``."""
    tolerance = 4.5 * math.sqrt(p * (1 - p) / total) + 1e-12
    assert abs(hits / total - p) <= tolerance, f"frequency {hits}/{total} = {hits / total:.3f}, expected {p}"


def _check_kernel(k: KernelParams, spec: BlurSpec) -> None:
    assert k.size in spec.kernel_sizes
    if k.kind == "sinc":
        lo, hi = spec.sinc_omega_small if k.size < spec.sinc_large_from else spec.sinc_omega_large
        assert lo * math.pi <= k.omega_c <= hi * math.pi
        return
    assert spec.blur_sigma[0] <= k.sigma_x <= spec.blur_sigma[1]
    if k.kind.endswith("aniso"):
        assert spec.blur_sigma[0] <= k.sigma_y <= spec.blur_sigma[1] and -math.pi <= k.theta <= math.pi
    else:
        assert (k.sigma_y, k.theta) == (k.sigma_x, 0.0)
    if k.kind.startswith("generalized"):
        assert spec.betag_range[0] <= k.beta <= spec.betag_range[1]
    elif k.kind.startswith("plateau"):
        assert spec.betap_range[0] <= k.beta <= spec.betap_range[1]
    else:
        assert k.beta == 1.0


def _check_kernel_frequencies(kernels: list[KernelParams], spec: BlurSpec) -> None:
    kinds = Counter(k.kind for k in kernels)
    _assert_frequency(kinds["sinc"], len(kernels), spec.sinc_prob)
    mixed = len(kernels) - kinds["sinc"]
    weights = np.asarray(spec.kernel_prob) / sum(spec.kernel_prob)
    for kind, p in zip(spec.kernel_list, weights, strict=True):
        _assert_frequency(kinds[kind], mixed, float(p))
    sizes = Counter(k.size for k in kernels)
    assert set(sizes) == set(spec.kernel_sizes)  # every size occurs, no other
    for size in spec.kernel_sizes:
        _assert_frequency(sizes[size], len(kernels), 1 / len(spec.kernel_sizes))


def _check_stage(stages: list[StageParams], spec: StageSpec) -> None:
    _assert_frequency(sum(s.blur is not None for s in stages), len(stages), spec.blur_prob)
    blurs = [s.blur for s in stages if s.blur is not None]
    for k in blurs:
        _check_kernel(k, spec.blur)
    _check_kernel_frequencies(blurs, spec.blur)
    weights = np.asarray(spec.resize_prob) / sum(spec.resize_prob)
    for direction, p in zip(("up", "down", "keep"), weights, strict=True):
        _assert_frequency(sum(s.resize.direction == direction for s in stages), len(stages), float(p))
    for s in stages:
        factor = s.resize.factor
        assert {
            "up": 1 <= factor <= spec.resize_range[1],
            "down": spec.resize_range[0] <= factor <= 1,
            "keep": factor == 1,
        }[s.resize.direction]
    for mode in spec.resize_modes:
        _assert_frequency(sum(s.resize.mode == mode for s in stages), len(stages), 1 / len(spec.resize_modes))
    _assert_frequency(sum(s.noise.kind == "gaussian" for s in stages), len(stages), spec.gaussian_noise_prob)
    _assert_frequency(sum(s.noise.gray for s in stages), len(stages), spec.gray_noise_prob)
    for s in stages:
        lo, hi = spec.noise_range if s.noise.kind == "gaussian" else spec.poisson_scale_range
        assert lo <= s.noise.strength <= hi
        if spec.jpeg_range is None:
            assert s.jpeg_quality is None
        else:
            assert isinstance(s.jpeg_quality, int) and spec.jpeg_range[0] <= s.jpeg_quality <= spec.jpeg_range[1]


@pytest.mark.parametrize("name", ["realesrgan", "resshift", "stablesr"])
def test_sampled_frequencies_and_ranges_match_the_preset(name: str) -> None:
    preset, draws = load_preset(name), _draws(name)
    assert all(d.kind == "realesrgan" and d.scale == 4 and d.usm_sharpen == preset.usm_sharpen for d in draws)
    _check_stage([d.first for d in draws], preset.first)
    seconds = [d.second for d in draws if d.second is not None]
    _assert_frequency(len(seconds), DRAWS, preset.second.prob)
    _check_stage(seconds, preset.second)
    finals = [d.final for d in draws]
    _assert_frequency(sum(f.jpeg_first for f in finals), DRAWS, preset.final.jpeg_first_prob)
    _assert_frequency(sum(f.sinc is not None for f in finals), DRAWS, preset.final.sinc_prob)
    for f in finals:
        assert f.resize_mode in preset.final.resize_modes
        assert preset.final.jpeg_range[0] <= f.jpeg_quality <= preset.final.jpeg_range[1]
        if f.sinc is not None:
            assert f.sinc.size in preset.final.sinc_kernel_sizes
            assert preset.final.sinc_omega[0] * math.pi <= f.sinc.omega_c <= preset.final.sinc_omega[1] * math.pi
    _assert_frequency(sum(d.no_degradation for d in draws), DRAWS, preset.no_degradation_prob)
    assert len({d.noise_seed for d in draws}) == DRAWS


def test_resshift_skips_the_second_stage_about_half_the_time() -> None:
    skipped = sum(d.second is None for d in _draws("resshift", seed=11))
    _assert_frequency(skipped, DRAWS, 0.5)
    assert 0 < skipped < DRAWS


def test_beta_draw_splits_at_one_like_basicsr() -> None:
    rng = pair_rng(3)
    plateau = np.array([sample_beta((1.0, 2.0), rng) for _ in range(DRAWS)])
    _assert_frequency(int((plateau == 1.0).sum()), DRAWS, 0.5)  # U(1, 1) branch is exactly 1
    assert plateau.min() >= 1.0 and plateau.max() <= 2.0
    general = np.array([sample_beta((0.5, 4.0), rng) for _ in range(DRAWS)])
    _assert_frequency(int((general < 1.0).sum()), DRAWS, 0.5)
    assert general.min() >= 0.5 and general.max() <= 4.0


def test_bicubic_preset_draws_nothing_random() -> None:
    params = sample_params(load_preset("bicubic"), pair_rng(0), 3)
    assert params == DegradationParams(kind="bicubic", scale=3, round_output=True)


def test_same_seed_and_key_give_the_same_params_and_other_keys_differ() -> None:
    preset = load_preset("realesrgan")
    a = sample_params(preset, pair_rng(5, "img.png", 0), 4)
    assert a == sample_params(preset, pair_rng(5, "img.png", 0), 4)
    assert a != sample_params(preset, pair_rng(5, "img.png", 1), 4)
    assert a != sample_params(preset, pair_rng(6, "img.png", 0), 4)


def test_params_round_trip_through_json_exactly() -> None:
    import json

    for params in _draws("stablesr")[:50]:
        assert DegradationParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
