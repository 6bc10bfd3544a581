"""``apply`` and ``RandomDegradation``: exact sizes, determinism, batching, and the order of operations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from srkit.degrade.bicubic import downsample_bicubic
from srkit.degrade.crops import crop_to_multiple
from srkit.degrade.online import RandomDegradation
from srkit.degrade.ops import jpeg, quantize_8bit, resize, usm_sharpen
from srkit.degrade.params import DegradationParams, FinalParams, NoiseParams, ResizeParams, StageParams
from srkit.degrade.pipeline import apply
from srkit.degrade.preset import load_preset
from srkit.degrade.sampling import pair_rng, sample_params
from srkit.errors import InputError


def _smooth(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, h, w, generator=g)
    return torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
@pytest.mark.parametrize("size", [(67, 53), (45, 31), (50, 50)])
@pytest.mark.parametrize("name", ["realesrgan", "bicubic"])
def test_lr_is_exactly_hr_over_scale_after_the_crop_rule(scale: int, size: tuple[int, int], name: str) -> None:
    box = crop_to_multiple(*size, scale)
    assert (box.height, box.width) == (size[0] - size[0] % scale, size[1] - size[1] % scale)
    hr = _smooth(1, box.height, box.width)
    params = sample_params(load_preset(name), pair_rng(scale, *size), scale)
    lr, out_hr = apply(hr, [params])
    assert lr.shape[-2:] == (size[0] // scale, size[1] // scale)
    assert out_hr.shape == hr.shape and 0 <= lr.min() and lr.max() <= 1


def test_uncropped_hr_is_refused_with_the_crop_rule() -> None:
    params = sample_params(load_preset("bicubic"), pair_rng(0), 4)
    with pytest.raises(InputError, match="multiple of scale 4"):
        apply(_smooth(1, 66, 64), [params])


@pytest.mark.parametrize("name", ["realesrgan", "resshift", "stablesr"])
def test_same_params_give_identical_pairs_on_the_same_device(name: str) -> None:
    hr = _smooth(3, 64, 48, seed=1)
    params = [sample_params(load_preset(name), pair_rng(9, i), 4) for i in range(3)]
    first, second = apply(hr, params), apply(hr, params)
    assert torch.equal(first.lr, second.lr) and torch.equal(first.hr, second.hr)


def test_a_pair_does_not_depend_on_the_rest_of_its_batch() -> None:
    hr = _smooth(4, 64, 64, seed=2)
    params = [sample_params(load_preset("realesrgan"), pair_rng(1, i), 4) for i in range(4)]
    batch = apply(hr, params)
    for i in range(4):
        alone = apply(hr[i : i + 1], params[i : i + 1])
        assert torch.equal(batch.lr[i], alone.lr[0]) and torch.equal(batch.hr[i], alone.hr[0])


def test_random_degradation_is_reproducible_from_numpy_or_torch_generators() -> None:
    hr = _smooth(2, 64, 64, seed=3)
    degrade = RandomDegradation("resshift", 4)
    a = degrade(hr, np.random.default_rng(5))
    b = degrade(hr, np.random.default_rng(5))
    assert a.params == b.params and torch.equal(a.lr, b.lr) and a.lr.shape == (2, 3, 16, 16)
    c = degrade(hr, torch.Generator().manual_seed(5))
    d = degrade(hr, torch.Generator().manual_seed(5))
    assert c.params == d.params and torch.equal(c.lr, d.lr)
    assert a.params != c.params


def test_usm_presets_return_the_sharpened_hr_as_the_target() -> None:
    hr = _smooth(1, 64, 64, seed=4)
    pairs = RandomDegradation("realesrgan", 4)(hr, np.random.default_rng(0))
    assert torch.allclose(pairs.hr, usm_sharpen(hr)) and not torch.allclose(pairs.hr, hr)
    plain = RandomDegradation("resshift", 4)(hr, np.random.default_rng(0))
    assert torch.equal(plain.hr, hr)


def test_bicubic_kind_is_the_rounded_antialiased_downscale() -> None:
    hr = _smooth(2, 48, 36, seed=5)
    params = [sample_params(load_preset("bicubic"), pair_rng(0), 3)] * 2
    assert torch.equal(apply(hr, params).lr, quantize_8bit(downsample_bicubic(hr, 3)))


def _quiet_stage(direction: str, factor: float, quality: int | None) -> StageParams:
    """A stage without blur and with zero-strength noise, so only resize and JPEG act."""
    return StageParams(
        blur=None,
        resize=ResizeParams(direction, factor, "bilinear"),
        noise=NoiseParams("gaussian", 0.0, False),
        jpeg_quality=quality,
    )


@pytest.mark.parametrize("jpeg_first", [True, False])
@pytest.mark.parametrize("with_second", [True, False])
def test_stages_run_in_real_esrgan_order(jpeg_first: bool, with_second: bool) -> None:
    hr = _smooth(1, 64, 64, seed=6)
    params = DegradationParams(
        kind="realesrgan",
        scale=4,
        first=_quiet_stage("down", 0.5, 80),
        second=_quiet_stage("up", 1.25, None) if with_second else None,
        final=FinalParams(jpeg_first=jpeg_first, resize_mode="area", sinc=None, jpeg_quality=50),
    )
    x = jpeg(resize(hr, "bilinear", factor=0.5), 80)
    if with_second:
        x = resize(x, "bilinear", size=(20, 20))  # int(64 / 4 * 1.25)
    if jpeg_first:
        x = resize(jpeg(x, 50), "area", size=(16, 16))
    else:
        x = jpeg(resize(x, "area", size=(16, 16)), 50)
    assert torch.equal(apply(hr, [params]).lr, quantize_8bit(x))
    flipped = dataclasses.replace(params, final=dataclasses.replace(params.final, jpeg_first=not jpeg_first))
    assert not torch.equal(apply(hr, [flipped]).lr, quantize_8bit(x))


def test_no_degradation_draw_gives_the_bicubic_lr() -> None:
    hr = _smooth(1, 64, 64, seed=7)
    params = dataclasses.replace(sample_params(load_preset("stablesr"), pair_rng(0), 4), no_degradation=True)
    pair = apply(hr, [params])
    assert torch.allclose(pair.lr, downsample_bicubic(usm_sharpen(hr), 4).clamp(0, 1))
