"""PSNR / SSIM / Y conversion: closed forms, and equality with pyiqa on the same arrays."""

from __future__ import annotations

import math

import pytest
import torch

from srkit.errors import InputError
from srkit.metrics.fidelity import (
    crop_border,
    psnr,
    rgb_to_y,
    ssim,
    ssim_downsample_factor,
)

from .images import bicubic_roundtrip_8bit, degrade, quantise, real_like, skimage_photo

pyiqa = pytest.importorskip("pyiqa")

# PSNR agrees with pyiqa to rounding. SSIM differs by < 1e-6 because pyiqa keeps its
# 11x11 Gaussian window in float32 (with that window the values are identical).
PSNR_TOL = 1e-9
SSIM_TOL = 1e-6


def pyiqa_scores(sr, hr, *, crop, y_channel, color_space, downsample=False):
    """pyiqa's own PSNR and SSIM objects (no weights needed) on float64 copies of the arrays."""
    kw = {"test_y_channel": y_channel, "crop_border": crop, "color_space": color_space, "device": "cpu"}
    p = pyiqa.create_metric("psnr", **kw)(sr.double(), hr.double()).flatten()
    s = pyiqa.create_metric("ssim", downsample=downsample, **kw)(sr.double(), hr.double()).flatten()
    return p, s


def assert_matches_pyiqa(sr, hr, *, crop, y_channel, color_space, downsample=False):
    ref_psnr, ref_ssim = pyiqa_scores(sr, hr, crop=crop, y_channel=y_channel, color_space=color_space, downsample=downsample)
    ours_psnr = psnr(sr, hr, crop=crop, y_channel=y_channel, color_space=color_space)
    ours_ssim = ssim(sr, hr, crop=crop, y_channel=y_channel, color_space=color_space, downsample=downsample)
    torch.testing.assert_close(ours_psnr, ref_psnr, atol=PSNR_TOL, rtol=0)
    torch.testing.assert_close(ours_ssim, ref_ssim, atol=SSIM_TOL, rtol=0)


@pytest.mark.parametrize("color_space", ["ycbcr", "yiq"])
@pytest.mark.parametrize("y_channel", [True, False])
@pytest.mark.parametrize("crop", [0, 4])
def test_psnr_ssim_match_pyiqa_on_random_odd_sized_batch(color_space, y_channel, crop):
    g = torch.Generator().manual_seed(7)
    hr = torch.rand(2, 3, 37, 53, generator=g, dtype=torch.float64)
    sr = (hr + 0.1 * torch.randn(hr.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    assert_matches_pyiqa(sr, hr, crop=crop, y_channel=y_channel, color_space=color_space)


@pytest.mark.parametrize("color_space", ["ycbcr", "yiq"])
def test_psnr_ssim_match_pyiqa_on_real_like_8bit_image(color_space):
    hr = quantise(real_like(61, 83), 8)
    sr = quantise(degrade(hr), 8)
    assert_matches_pyiqa(sr, hr, crop=4, y_channel=True, color_space=color_space)


@pytest.mark.parametrize("color_space", ["ycbcr", "yiq"])
def test_psnr_ssim_match_pyiqa_on_16bit_inputs(color_space):
    hr = quantise(real_like(45, 61, seed=3), 16)
    sr = quantise(degrade(hr, seed=4), 16)
    assert_matches_pyiqa(sr, hr, crop=2, y_channel=True, color_space=color_space)
    assert_matches_pyiqa(sr, hr, crop=2, y_channel=False, color_space=color_space)


@pytest.mark.parametrize("color_space", ["ycbcr", "yiq"])
def test_psnr_ssim_match_pyiqa_on_a_real_photo(color_space):
    photo = skimage_photo("chelsea.png")  # 300 x 451, 8-bit
    if photo is None:
        pytest.skip("scikit-image's sample photos are not installed")
    hr = photo[..., 50:201, 120:323]  # the cat's face, 151 x 203 (odd sizes)
    sr = bicubic_roundtrip_8bit(hr, 4)
    assert_matches_pyiqa(sr, hr, crop=4, y_channel=True, color_space=color_space)


def test_ssim_downsampling_matches_pyiqa_on_a_large_image():
    hr = quantise(real_like(384, 391, seed=5), 8)  # min side 384 -> factor round(1.5) = 2
    sr = quantise(degrade(hr, seed=6), 8)
    assert ssim_downsample_factor(384, 391) == 2
    assert_matches_pyiqa(sr, hr, crop=0, y_channel=True, color_space="ycbcr", downsample=True)
    assert abs(ssim(sr, hr, downsample=True).item() - ssim(sr, hr, downsample=False).item()) > 1e-3


def test_ssim_downsample_factor_follows_matlab_rule_with_python_rounding():
    assert ssim_downsample_factor(255, 300) == 1
    assert ssim_downsample_factor(384, 500) == 2  # 1.5 rounds to 2
    assert ssim_downsample_factor(640, 700) == 2  # 2.5 rounds half to even, as pyiqa's round()
    assert ssim_downsample_factor(700, 700) == 3


def test_identical_images_give_ssim_one_and_psnr_80db():
    hr = real_like(40, 50)
    assert ssim(hr, hr).item() == pytest.approx(1.0, abs=1e-12)
    assert psnr(hr, hr).item() == pytest.approx(80.0, abs=1e-9)  # 10 log10(1 / 1e-8)


def test_psnr_of_constant_offset_matches_closed_form_on_rgb_and_on_ycbcr_y():
    hr = torch.full((1, 3, 20, 24), 0.4, dtype=torch.float64)
    d = 0.05
    sr = hr + d
    assert psnr(sr, hr, y_channel=False).item() == pytest.approx(10 * math.log10(1 / (d * d + 1e-8)), abs=1e-9)
    dy = d * (65.481 + 128.553 + 24.966) / 255.0  # BT.601 luma gain 219/255
    assert psnr(sr, hr, y_channel=True).item() == pytest.approx(10 * math.log10(1 / (dy * dy + 1e-8)), abs=1e-5)


def test_rgb_to_y_maps_black_and_white_to_bt601_and_yiq_limits():
    black_white = torch.tensor([0.0, 1.0], dtype=torch.float64).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    torch.testing.assert_close(rgb_to_y(black_white, "ycbcr").flatten(), torch.tensor([16 / 255, 235 / 255], dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(rgb_to_y(black_white, "yiq").flatten(), torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-6, rtol=0)


def test_grey_images_are_scored_as_they_are():
    hr = real_like(30, 30)[:, :1]
    sr = degrade(hr)
    assert psnr(sr, hr, y_channel=True).item() == pytest.approx(psnr(sr, hr, y_channel=False).item(), abs=0)


def test_crop_border_removes_pixels_on_every_side():
    img = torch.zeros(1, 1, 10, 12)
    assert crop_border(img, 3).shape == (1, 1, 4, 6)
    assert crop_border(img, 0) is img


def test_crop_border_that_leaves_nothing_is_an_input_error():
    with pytest.raises(InputError, match="crop border"):
        crop_border(torch.zeros(1, 3, 8, 8), 4)


def test_ssim_on_images_smaller_than_its_window_is_an_input_error():
    img = torch.rand(1, 3, 18, 30, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InputError, match="11x11"):
        ssim(img, img, crop=4)


def test_mismatched_shapes_are_an_input_error():
    with pytest.raises(InputError, match="same shape"):
        psnr(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 17))
