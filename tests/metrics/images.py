"""Deterministic test images for the metrics tests: constructed, degraded, quantised, real photos."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch


def real_like(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A photo-like RGB image (1, 3, H, W) in [0, 1], float64: smooth gradients, step edges, a disc, fine texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    img = np.stack([0.2 + 0.6 * u, 0.3 + 0.5 * v, 0.5 + 0.3 * np.sin(2 * math.pi * (u + v))], axis=0)
    box = (u > 0.3) & (u < 0.7) & (v > 0.2) & (v < 0.5)
    img[:, box] = np.array([0.9, 0.15, 0.1])[:, None]
    disc = (u - 0.3) ** 2 + (v - 0.75) ** 2 < 0.02
    img[:, disc] = np.array([0.05, 0.1, 0.8])[:, None]
    img += 0.04 * np.sin(0.9 * x)[None] * np.cos(0.7 * y)[None]
    img += 0.01 * rng.standard_normal(img.shape)
    return torch.from_numpy(np.clip(img, 0.0, 1.0))[None]


def degrade(hr: torch.Tensor, seed: int = 1) -> torch.Tensor:
    """A plausible SR output for ``hr``: blurred, slightly noisy, clamped to [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=hr.dtype) / 16.0
    c = hr.shape[1]
    blurred = torch.nn.functional.pad(hr, (2, 2, 2, 2), mode="replicate")
    blurred = torch.nn.functional.conv2d(blurred, kernel.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)
    blurred = torch.nn.functional.conv2d(blurred, kernel.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    noise = 0.02 * torch.randn(hr.shape, generator=g, dtype=hr.dtype)
    return (blurred + noise).clamp(0.0, 1.0)


def quantise(img: torch.Tensor, bits: int) -> torch.Tensor:
    """Round to the levels of an unsigned ``bits``-bit image, back in [0, 1]."""
    top = float(2**bits - 1)
    return torch.round(img * top) / top


def skimage_photo(name: str) -> torch.Tensor | None:
    """An 8-bit photo shipped inside scikit-image (1, 3, H, W) in [0, 1], or None if not installed."""
    try:
        import skimage
    except ImportError:
        return None
    path = Path(skimage.__file__).parent / "data" / name
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].to(torch.float64) / 255.0


def bicubic_roundtrip_8bit(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The 8-bit bicubic x``scale`` upscale of the area-downscaled image: a real-world 'SR' result."""
    rgb = (hr[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
    up = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return torch.from_numpy(up).permute(2, 0, 1)[None].to(torch.float64) / 255.0
