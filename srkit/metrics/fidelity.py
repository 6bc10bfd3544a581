"""Full-reference fidelity metrics: PSNR and SSIM, on the Y channel or on RGB.

The definitions are those of pyiqa's ``PSNR`` and ``SSIM`` metrics (pyiqa 0.1.x,
``archs/psnr_arch.py`` and ``archs/ssim_arch.py``), which follow the MATLAB
reference code. With ``color_space="ycbcr"`` and ``crop=4`` they are what CCSR's
evaluation script computes (``pyiqa.create_metric("psnr"/"ssim", test_y_channel=True,
color_space="ycbcr")``); ``"yiq"`` gives pyiqa's default ``psnry``/``ssim``. PSNR
equals pyiqa's to rounding; SSIM differs by < 1e-6 because pyiqa stores its
Gaussian window in float32 (this module keeps it in float64).

* PSNR is computed on the float image as given (no rounding),
  ``10 log10(1 / (MSE + 1e-8))`` for pixels in [0, 1]; identical images give 80 dB.
* SSIM quantises to 8-bit levels first (``round(255 * Y)`` or ``round(255 * RGB)``,
  round-half-to-even as ``torch.round``), as MATLAB does for uint8 images; 16-bit
  inputs are therefore also scored on 8-bit levels, exactly like pyiqa.
* ``crop_border`` removes that many pixels on every side before anything else.

Inputs are NCHW tensors in [0, 1]; everything is computed in float64.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from srkit.errors import InputError

ColorSpace = Literal["ycbcr", "yiq"]

#: Luma weights and offset (in 8-bit units) of each supported colour space.
#: ``ycbcr``: ITU-R BT.601 as MATLAB ``rgb2ycbcr`` (Y in [16, 235]/255), the
#: convention of SR papers ("PSNR/SSIM on the Y channel of YCbCr", CCSR Sec. 4.1).
#: ``yiq``: MATLAB ``rgb2gray`` (0.299, 0.587, 0.114), pyiqa's default ``color_space``.
_LUMA: dict[str, tuple[tuple[float, float, float], float, float]] = {
    "ycbcr": ((65.481, 128.553, 24.966), 16.0, 255.0),
    "yiq": ((0.299, 0.587, 0.114), 0.0, 1.0),
}

#: Gaussian window of the SSIM reference code (Wang et al. 2004): 11 x 11, sigma 1.5.
SSIM_WINDOW_SIZE = 11
SSIM_WINDOW_SIGMA = 1.5
#: pyiqa (and MATLAB) PSNR guard against a zero MSE.
PSNR_EPS = 1e-8


def rgb_to_y(img: torch.Tensor, color_space: ColorSpace = "ycbcr") -> torch.Tensor:
    """Luma of an RGB batch ``(N, 3, H, W)`` in [0, 1] -> ``(N, 1, H, W)`` in [0, 1].

    ``ycbcr``: ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255`` (BT.601, MATLAB
    ``rgb2ycbcr``); ``yiq``: ``Y = 0.299 R + 0.587 G + 0.114 B``.
    """
    if color_space not in _LUMA:
        raise InputError(f"unknown colour space '{color_space}': use one of {', '.join(_LUMA)}")
    if img.ndim != 4 or img.shape[1] != 3:
        raise InputError(f"Y conversion needs RGB images of shape (N, 3, H, W), got {tuple(img.shape)}")
    weights, offset, divisor = _LUMA[color_space]
    # The weights are rounded to float32 as pyiqa stores them: 8-bit inputs often land
    # exactly on a rounding tie of round(255 Y) (SSIM), and only identical constants
    # break those ties the same way. The change to Y itself is below 1e-7.
    w = torch.tensor(weights, dtype=torch.float32).to(device=img.device, dtype=img.dtype).view(3, 1)
    y = img.permute(0, 2, 3, 1) @ w
    return ((y + offset) / divisor).permute(0, 3, 1, 2)


def crop_border(img: torch.Tensor, border: int) -> torch.Tensor:
    """Drop ``border`` pixels on each side of the last two dimensions (no-op for 0)."""
    if border < 0:
        raise InputError(f"crop border must be >= 0, got {border}")
    if border == 0:
        return img
    height, width = img.shape[-2:]
    if 2 * border >= min(height, width):
        raise InputError(
            f"crop border {border} leaves nothing of a {height}x{width} image: use a smaller --crop-border"
        )
    return img[..., border:-border, border:-border]


def _fidelity_inputs(
    sr: torch.Tensor, hr: torch.Tensor, border: int, y_channel: bool, color_space: ColorSpace
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a pair, crop it, cast to float64 and (for RGB with ``y_channel``) take its luma."""
    if sr.ndim != 4 or sr.shape != hr.shape:
        raise InputError(
            f"SR and HR must be NCHW tensors of the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}"
        )
    pair = [crop_border(img, border).to(torch.float64) for img in (sr, hr)]
    if y_channel and sr.shape[1] == 3:
        pair = [rgb_to_y(img, color_space) for img in pair]
    return pair[0], pair[1]


def psnr(
    sr: torch.Tensor,
    hr: torch.Tensor,
    *,
    crop: int = 0,
    y_channel: bool = True,
    color_space: ColorSpace = "ycbcr",
) -> torch.Tensor:
    """Per-image PSNR in dB, shape ``(N,)``: ``10 log10(1 / (mean((sr - hr)^2) + 1e-8))``.

    As pyiqa ``PSNR(test_y_channel=y_channel, crop_border=crop, color_space=...)``;
    grey images (C=1) are used as they are.
    """
    x, y = _fidelity_inputs(sr, hr, crop, y_channel, color_space)
    mse = (x - y).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / (mse + PSNR_EPS))


def gaussian_window_1d(size: int = SSIM_WINDOW_SIZE, sigma: float = SSIM_WINDOW_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian ``g``; the SSIM window is ``g g^T`` (MATLAB ``fspecial``)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2.0
    g = torch.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(img: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' filtering of every channel with ``g g^T`` (MATLAB ``filter2(w, x, 'valid')``)."""
    channels = img.shape[1]
    rows = g.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = g.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    return F.conv2d(F.conv2d(img, rows, groups=channels), cols, groups=channels)


def ssim_downsample_factor(height: int, width: int) -> int:
    """MATLAB ``ssim_index.m`` scale factor ``f = max(1, round(min(H, W) / 256))`` (Python rounding, as pyiqa)."""
    return max(1, round(min(height, width) / 256))


def ssim(
    sr: torch.Tensor,
    hr: torch.Tensor,
    *,
    crop: int = 0,
    y_channel: bool = True,
    color_space: ColorSpace = "ycbcr",
    downsample: bool = False,
) -> torch.Tensor:
    """Per-image SSIM (Wang et al. 2004, eq. 13), shape ``(N,)``, as pyiqa ``SSIM``.

    On 8-bit levels ``x = round(255 * img)`` with ``C1 = (0.01 * 255)^2``,
    ``C2 = (0.03 * 255)^2``, Gaussian-weighted local statistics ('valid' window)::

        ssim_map = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)
                   * max(0, (2 s_xy + C2) / (s_x^2 + s_y^2 + C2))

    averaged over pixels and channels. The ``max(0, .)`` is pyiqa's clamp of the
    contrast-structure term. ``downsample=True`` first average-pools by
    ``ssim_downsample_factor`` (pyiqa's version of the MATLAB script's
    downsampling; pyiqa's registered ``ssim``/``ssimc`` do not downsample).
    """
    x, y = _fidelity_inputs(sr, hr, crop, y_channel, color_space)
    x, y = torch.round(x * 255.0), torch.round(y * 255.0)
    factor = ssim_downsample_factor(*x.shape[-2:])
    if downsample and factor > 1:
        x, y = F.avg_pool2d(x, kernel_size=factor), F.avg_pool2d(y, kernel_size=factor)
    if min(x.shape[-2:]) < SSIM_WINDOW_SIZE:
        raise InputError(
            f"SSIM needs at least {SSIM_WINDOW_SIZE}x{SSIM_WINDOW_SIZE} pixels after cropping, "
            f"got {x.shape[-2]}x{x.shape[-1]}: use a smaller --crop-border or larger images"
        )
    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    g = gaussian_window_1d().to(x.device)
    mu_x, mu_y = _filter_valid(x, g), _filter_valid(y, g)
    var_x = _filter_valid(x * x, g) - mu_x * mu_x
    var_y = _filter_valid(y * y, g) - mu_y * mu_y
    cov_xy = _filter_valid(x * y, g) - mu_x * mu_y
    luminance = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    contrast_structure = torch.relu((2.0 * cov_xy + c2) / (var_x + var_y + c2))
    return (luminance * contrast_structure).mean(dim=(1, 2, 3))
