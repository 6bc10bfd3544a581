"""Pixel operations against independent implementations (OpenCV, PIL, closed-form statistics)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from srkit.degrade.bicubic import downsample_bicubic, upsample_bicubic
from srkit.degrade.kernels import gaussian_kernel
from srkit.degrade.ops import (
    add_noise,
    encode_jpeg_bytes,
    filter2d,
    gaussian_noise,
    jpeg,
    poisson_noise,
    quantize_8bit,
    resize,
    usm_sharpen,
)


def _image(h: int = 48, w: int = 40, seed: int = 0) -> torch.Tensor:
    """A smooth random RGB image (1,3,h,w) in [0, 1]."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 1.5)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return torch.from_numpy(noise).permute(2, 0, 1)[None].contiguous()


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy()


def test_filter2d_matches_opencv_filter2d_with_reflect101_border() -> None:
    x = _image()
    kernel = gaussian_kernel(9, 2.0, 0.7, 0.5).astype(np.float32)
    ours = _hwc(filter2d(x, torch.from_numpy(kernel)))
    theirs = cv2.filter2D(_hwc(x), -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    np.testing.assert_allclose(ours, theirs, atol=2e-6)


def test_filter2d_applies_each_kernel_to_its_own_image() -> None:
    x = torch.cat([_image(seed=1), _image(seed=2)])
    k1 = torch.from_numpy(gaussian_kernel(5, 1.0)).float()
    k2 = torch.from_numpy(gaussian_kernel(5, 0.6, 1.4, 1.0)).float()
    both = filter2d(x, torch.stack([k1, k2]))
    assert torch.allclose(both[0], filter2d(x[:1], k1)[0], atol=1e-7)
    assert torch.allclose(both[1], filter2d(x[1:], k2)[0], atol=1e-7)


def test_usm_sharpen_matches_basicsr_opencv_formula() -> None:
    x = _image(64, 56, seed=3)
    img = _hwc(x).astype(np.float64)
    blur = cv2.GaussianBlur(img, (51, 51), 0)  # BasicSR usm_sharp: radius 50 -> 51, sigma 0
    residual = img - blur
    mask = cv2.GaussianBlur((np.abs(residual) * 255 > 10).astype(np.float64), (51, 51), 0)
    expected = mask * np.clip(img + 0.5 * residual, 0, 1) + (1 - mask) * img
    np.testing.assert_allclose(_hwc(usm_sharpen(x)), expected, atol=2e-5)


def test_gaussian_noise_has_the_requested_sigma() -> None:
    x = torch.full((1, 3, 256, 256), 0.5)
    g = torch.Generator().manual_seed(0)
    noise = gaussian_noise(x, 12.0, gray=False, generator=g)
    assert noise.std().item() == pytest.approx(12.0 / 255, rel=0.01)
    assert abs(noise.mean().item()) < 3 * 12.0 / 255 / math.sqrt(noise.numel())
    noisy = add_noise(x, "gaussian", 12.0, False, torch.Generator().manual_seed(0))
    assert (noisy - x).std().item() == pytest.approx(12.0 / 255, rel=0.01)  # no clipping at mid-grey


def test_gray_noise_is_the_same_in_every_channel() -> None:
    x = _image()
    for make in (gaussian_noise, poisson_noise):
        noise = make(x, 1.0 if make is poisson_noise else 10.0, True, torch.Generator().manual_seed(1))
        assert torch.equal(noise[:, 0], noise[:, 1]) and torch.equal(noise[:, 1], noise[:, 2])
        assert noise.abs().sum() > 0


def test_poisson_noise_variance_is_scale_squared_value_over_levels() -> None:
    levels = np.arange(60, 200)  # 140 distinct 8-bit values -> L = 2^ceil(log2 140) = 256
    values = np.resize(levels, 3 * 200 * 200).reshape(1, 3, 200, 200) / 255.0
    x = torch.from_numpy(values).float()
    scale = 1.7
    noise = poisson_noise(x, scale, False, torch.Generator().manual_seed(2))
    expected = scale**2 * x.mean().item() / 256
    assert noise.pow(2).mean().item() == pytest.approx(expected, rel=0.02)
    assert abs(noise.mean().item()) < 4 * math.sqrt(expected / noise.numel())


@pytest.mark.parametrize("quality", [30, 77, 95])
def test_jpeg_gives_the_bytes_and_pixels_of_opencv_called_directly(quality: int) -> None:
    x = _image(40, 56, seed=4)
    rgb = (_hwc(x) * 255).round().astype(np.uint8)
    ok, direct = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok and encode_jpeg_bytes(rgb, quality) == direct.tobytes()
    decoded = cv2.imdecode(direct, cv2.IMREAD_COLOR)[:, :, ::-1]
    ours = (_hwc(jpeg(x, quality)) * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(ours, decoded)


def test_torchvision_jpeg_backend_matches_opencv_on_cpu() -> None:
    x = _image(32, 48, seed=5)
    assert torch.equal(jpeg(x, 60, "torchvision"), jpeg(x, 60, "opencv"))


def test_bicubic_downsample_and_upsample_match_pil() -> None:
    from PIL import Image

    x = _image(36, 48, seed=6)
    for scale in (2, 3, 4):
        lr = downsample_bicubic(x, scale)
        up = upsample_bicubic(lr, scale)
        for ours, size in ((lr, (48 // scale, 36 // scale)), (up, (48, 36))):
            source = lr if ours is up else x
            pil = np.stack(
                [
                    np.asarray(Image.fromarray(_hwc(source)[:, :, c], mode="F").resize(size, Image.BICUBIC))
                    for c in range(3)
                ],
                axis=2,
            )
            np.testing.assert_allclose(_hwc(ours), pil, atol=1e-5)


def test_resize_by_factor_floors_the_size_and_never_goes_to_zero() -> None:
    x = _image(30, 20)
    assert resize(x, "bicubic", factor=0.15).shape[-2:] == (4, 3)
    assert resize(x, "area", factor=1.37).shape[-2:] == (41, 27)
    assert resize(x, "bilinear", factor=0.01).shape[-2:] == (1, 1)
    assert torch.allclose(resize(x, "bilinear", factor=1.0), x)


def test_quantize_8bit_rounds_and_clamps() -> None:
    x = torch.tensor([-0.2, 0.0, 0.5, 0.50196, 1.3])
    assert torch.equal(quantize_8bit(x) * 255, torch.tensor([0.0, 0.0, 128.0, 128.0, 255.0]))
