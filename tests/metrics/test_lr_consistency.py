"""DREAM/SR3 LR consistency: MSE between the LR input and the downscaled SR output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srkit.errors import InputError
from srkit.metrics.consistency import bicubic_downscale, lr_consistency

from .images import real_like


def test_consistency_is_zero_when_lr_is_the_downscaled_sr():
    sr = real_like(64, 48)
    lr = bicubic_downscale(sr, (16, 12))
    assert lr_consistency(sr, lr).item() == 0.0


def test_consistency_of_a_constant_lr_offset_is_its_square():
    sr = real_like(64, 48)
    lr = bicubic_downscale(sr, (16, 12)) + 0.1
    assert lr_consistency(sr, lr).item() == pytest.approx(0.01, abs=1e-12)


def test_default_downscale_is_pil_bicubic():
    pil = pytest.importorskip("PIL.Image")
    img = real_like(64, 48, seed=3)[0, 0].float().numpy()
    expected = np.asarray(pil.fromarray(img, mode="F").resize((12, 16), pil.BICUBIC))
    ours = bicubic_downscale(torch.from_numpy(img)[None, None].double(), (16, 12))[0, 0].numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-6, rtol=0)


def test_consistency_uses_the_given_downscale():
    sr = real_like(32, 32)

    def box(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return F.adaptive_avg_pool2d(img, size)

    lr = box(sr, (8, 8))
    assert lr_consistency(sr, lr, downscale=box).item() == pytest.approx(0.0, abs=1e-30)
    assert lr_consistency(sr, lr).item() > 1e-6  # bicubic differs from the box filter


def test_consistency_is_per_image():
    sr = torch.cat([real_like(32, 32, seed=1), real_like(32, 32, seed=2)])
    lr = bicubic_downscale(sr, (8, 8))
    lr[1] += 0.2
    torch.testing.assert_close(lr_consistency(sr, lr), torch.tensor([0.0, 0.04], dtype=torch.float64), atol=1e-12, rtol=0)


def test_consistency_rejects_lr_with_other_channels():
    with pytest.raises(InputError, match="same N and C"):
        lr_consistency(torch.zeros(1, 3, 32, 32), torch.zeros(1, 1, 8, 8))
