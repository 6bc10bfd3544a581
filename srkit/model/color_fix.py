"""Colour correction of an SR output towards its input (``--color-fix``), as pure tensor functions.

Diffusion SR models can drift in colour; both fixes keep the output's detail
and take the colour from the reference ``ref`` (the model's condition image: the
bicubic-upsampled LR, or the preprocessor's output P; same size as ``sr``).
Inputs and outputs are NCHW in [0, 1]. ``auto`` names the model's own default
(a recipe's ``color_fix``; a released model's procedure as released).

- ``adain``: per-image, per-channel mean/std matching (Huang & Belongie 2017,
  AdaIN eq. (8)): ``(sr - mu(sr)) / sigma(sr) * sigma(ref) + mu(ref)`` with
  ``sigma = sqrt(unbiased variance + 1e-5)``, as StableSR, DoSSR and CCSR compute it.
- ``wavelet``: StableSR's wavelet colour fix (Wang et al. 2023): a dilated
  à-trous decomposition with the 3x3 binomial kernel; the output is the high
  frequencies of ``sr`` plus the low frequencies of ``ref``.

:func:`adain_transfer` and :func:`wavelet_reconstruction` are the unclamped
functions of the official DoSSR/CCSR code (checked against recordings of it in
``tests/released/sd``); :func:`adain` and :func:`wavelet` clamp them to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from srkit.errors import SettingError

WAVELET_LEVELS = 5
_EPS = 1e-5
_BINOMIAL = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0


def _channel_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per image and channel: mean and ``sqrt(unbiased variance + 1e-5)``."""
    flat = x.reshape(*x.shape[:2], -1)
    var = flat.var(dim=-1, correction=1) + _EPS
    return flat.mean(dim=-1)[..., None, None], var.sqrt()[..., None, None]


def adain_transfer(sr: Tensor, ref: Tensor) -> Tensor:
    """Give each channel of ``sr`` the mean and std of ``ref`` (AdaIN eq. (8)), unclamped."""
    sr_mean, sr_std = _channel_stats(sr)
    ref_mean, ref_std = _channel_stats(ref)
    return (sr - sr_mean) / sr_std * ref_std + ref_mean


def adain(sr: Tensor, ref: Tensor) -> Tensor:
    """:func:`adain_transfer` clamped to [0, 1]."""
    return adain_transfer(sr, ref).clamp(0.0, 1.0)


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


def wavelet_decomposition(x: Tensor, levels: int = WAVELET_LEVELS) -> tuple[Tensor, Tensor]:
    """``(high, low)``: the sum of the detail bands ``x_i - blur(x_i)`` over ``levels``, and the last blur."""
    high = torch.zeros_like(x)
    for level in range(levels):
        low = atrous_blur(x, 2**level)
        high = high + (x - low)
        x = low
    return high, x


def wavelet_reconstruction(sr: Tensor, ref: Tensor, levels: int = WAVELET_LEVELS) -> Tensor:
    """``high(sr) + low(ref)``: the detail of ``sr`` on the colour/low frequencies of ``ref``, unclamped."""
    return wavelet_decomposition(sr, levels)[0] + wavelet_decomposition(ref, levels)[1]


def wavelet(sr: Tensor, ref: Tensor, levels: int = WAVELET_LEVELS) -> Tensor:
    """:func:`wavelet_reconstruction` clamped to [0, 1]."""
    return wavelet_reconstruction(sr, ref, levels).clamp(0.0, 1.0)


ColorFix = Callable[[Tensor, Tensor], Tensor]
COLOR_FIXES: dict[str, ColorFix | None] = {"none": None, "adain": adain, "wavelet": wavelet}
#: The run-level setting that keeps the model's own default.
AUTO = "auto"


def check_color_fix_name(name: str, *, allow_auto: bool = True) -> str:
    """``name`` if it is a colour fix (or ``auto`` where allowed); a SettingError lists the choices."""
    choices = [AUTO, *COLOR_FIXES] if allow_auto else list(COLOR_FIXES)
    if name not in choices:
        raise SettingError("color_fix", f"must be {', '.join(choices[:-1])} or {choices[-1]}, got '{name}'")
    return name


def color_fix_by_name(name: str) -> ColorFix | None:
    """The fix called ``name`` (``none`` -> None); a SettingError lists the choices (``auto`` is not a fix)."""
    return COLOR_FIXES[check_color_fix_name(name, allow_auto=False)]
