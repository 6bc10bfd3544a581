"""Colour correction of an SR output towards its input (``--color-fix``), as pure tensor functions.

Diffusion SR models can drift in colour; both fixes keep the output's detail
and take the colour from the reference ``ref`` (the bicubic-upsampled LR, same
size as ``sr``). Inputs and outputs are NCHW in [0, 1].

- ``adain``: per-image, per-channel mean/std matching (Huang & Belongie 2017,
  AdaIN eq. (8)): ``(sr - mu(sr)) / sigma(sr) * sigma(ref) + mu(ref)``.
- ``wavelet``: StableSR's wavelet colour fix (Wang et al. 2023): a dilated
  à-trous decomposition with the 3x3 binomial kernel; the output is the high
  frequencies of ``sr`` plus the low frequencies of ``ref``.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from srkit.errors import SettingError

WAVELET_LEVELS = 5
_EPS = 1e-5
_BINOMIAL = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0


def adain(sr: Tensor, ref: Tensor) -> Tensor:
    """Match each channel's mean and (population) std of ``sr`` to those of ``ref``."""
    sr_std, sr_mean = torch.std_mean(sr, dim=(-2, -1), keepdim=True, correction=0)
    ref_std, ref_mean = torch.std_mean(ref, dim=(-2, -1), keepdim=True, correction=0)
    return ((sr - sr_mean) / (sr_std + _EPS) * ref_std + ref_mean).clamp(0.0, 1.0)


def atrous_blur(x: Tensor, dilation: int) -> Tensor:
    """3x3 binomial blur with holes of ``dilation`` pixels, edges replicated (one à-trous level)."""
    channels = x.shape[1]
    kernel = _BINOMIAL.to(x)[None, None].repeat(channels, 1, 1, 1)
    padded = F.pad(x, (dilation,) * 4, mode="replicate")
    return F.conv2d(padded, kernel, groups=channels, dilation=dilation)


def low_frequency(x: Tensor, levels: int = WAVELET_LEVELS) -> Tensor:
    """The residual low-pass of an à-trous decomposition: ``levels`` blurs with dilations 1, 2, 4, ..."""
    for level in range(levels):
        x = atrous_blur(x, 2**level)
    return x


def wavelet(sr: Tensor, ref: Tensor, levels: int = WAVELET_LEVELS) -> Tensor:
    """``sr - low(sr) + low(ref)``: the detail of ``sr`` on the colour/low frequencies of ``ref``."""
    return (sr - low_frequency(sr, levels) + low_frequency(ref, levels)).clamp(0.0, 1.0)


COLOR_FIXES: dict[str, Callable[[Tensor, Tensor], Tensor] | None] = {"none": None, "adain": adain, "wavelet": wavelet}


def color_fix_by_name(name: str) -> Callable[[Tensor, Tensor], Tensor] | None:
    """The fix called ``name`` (``none`` -> None); a SettingError lists the choices."""
    if name not in COLOR_FIXES:
        raise SettingError("color_fix", f"must be none, wavelet or adain, got '{name}'")
    return COLOR_FIXES[name]
