"""Antialiased bicubic resizing: the bicubic degradation and the ``y`` / ``lr_up`` upsampling.

Both use ``torch.nn.functional.interpolate(mode="bicubic", antialias=True,
align_corners=False)``: the Keys cubic with ``a = -0.5``, stretched by the
scale factor when shrinking (antialias), which is exactly PIL's
``Image.resize(..., Image.BICUBIC)`` (checked in the tests). MATLAB's
``imresize`` uses the same kernel and differs only at the borders. Note that
*non*-antialiased torch bicubic uses ``a = -0.75``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from srkit.errors import InputError


def _check_scale(scale: int) -> None:
    if int(scale) != scale or scale < 1:
        raise InputError(f"scale must be a positive integer, got {scale}")


def downsample_bicubic(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """HR (N,C,H,W) -> LR (N,C,H//scale,W//scale), antialiased bicubic; H and W must be multiples of ``scale``."""
    _check_scale(scale)
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise InputError(
            f"HR size {h}x{w} is not a multiple of scale {scale}; crop it first (srkit.degrade.crop_to_multiple)"
        )
    return F.interpolate(hr, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)


def upsample_bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """LR (N,C,h,w) -> (N,C,h*scale,w*scale), bicubic ``a = -0.5`` (PIL-compatible); not clamped (cubic overshoots)."""
    _check_scale(scale)
    h, w = lr.shape[-2:]
    return F.interpolate(lr, size=(h * scale, w * scale), mode="bicubic", antialias=True, align_corners=False)
