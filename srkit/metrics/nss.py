"""Natural-scene statistics shared by NIQE and BRISQUE, as their MATLAB reference code computes them.

* :func:`matlab_grey`: MATLAB ``rgb2gray`` of the 8-bit image (Rec. 601 luma with
  MATLAB's coefficients ``0.298936021293775 R + 0.587043074451121 G +
  0.114020904255103 B`` on 0-255 levels, rounded to an integer level, as
  ``rgb2gray`` does for ``uint8`` input). A float image in [0, 1] is first
  quantised to 8 bits, which leaves images read from 8-bit files unchanged.
* :func:`matlab_imresize_half`: ``imresize(im, 0.5)``: bicubic (Keys, a = -0.5)
  with MATLAB's antialiasing (kernel widened by 2), symmetric borders.
* :func:`mscn`: mean-subtracted contrast-normalised coefficients
  ``(I - mu) / (sigma + 1)`` with a 7x7 Gaussian window, sigma 7/6 (BRISQUE Eq. 1).
  Where the window sees a flat patch the coefficient is 0 in exact arithmetic,
  but floating-point filtering leaves +-1e-14 of noise whose *sign* decides
  whether the pixel counts on the left or right side of the AGGD fits; such
  coefficients (``|z| <= FLAT_TOLERANCE``) are set to exactly 0. Without this,
  NIQE of an image with flat areas (TID2013 I19) moved by 0.13 under a 1e-9
  change of the input; with it, srkit is within 0.031 of MATLAB on all five
  TID2013 images of pyiqa's calibration set. The tolerance is for float64; in
  float32 the noise is ~1e-5 and is left as it is.
* :func:`fit_ggd`, :func:`fit_aggd`: moment-matching fits of a generalised
  Gaussian and an asymmetric generalised Gaussian (BRISQUE Sec. III; shape
  searched on MATLAB's grid 0.2:0.001:10, first minimum wins).

Everything works on tensors of shape ``(N, H, W)`` (images) or ``(N, L)`` (samples), any float dtype.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from srkit.metrics.fidelity import gaussian_window_1d

MATLAB_GREY = (0.298936021293775, 0.587043074451121, 0.114020904255103)
WINDOW_SIZE = 7
WINDOW_SIGMA = 7.0 / 6.0
#: MSCN coefficients at most this large are flat-patch rounding noise (float64), set to 0.
FLAT_TOLERANCE = 1e-10
#: MATLAB's shape grid ``0.2:0.001:10``.
SHAPE_GRID = 0.2 + 0.001 * np.arange(9801)


def matlab_grey(rgb: Tensor) -> Tensor:
    """``(N, 3, H, W)`` in [0, 1] -> ``(N, H, W)`` float64 grey levels 0-255, as MATLAB's ``rgb2gray`` of the uint8 image."""
    levels = torch.floor(rgb.double().clamp(0, 1) * 255 + 0.5)
    weights = torch.tensor(MATLAB_GREY, dtype=torch.float64, device=rgb.device).view(1, 3, 1, 1)
    return torch.floor((levels * weights).sum(1) + 0.5)


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5 (MATLAB ``imresize``'s ``cubic``)."""
    ax = np.abs(x)
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def imresize_matrix(length: int, scale: float) -> np.ndarray:
    """``(out, in)`` matrix of MATLAB ``imresize`` along one axis (bicubic, antialiased when shrinking, symmetric edges)."""
    out_length = math.ceil(length * scale)
    width = 4.0 / scale if scale < 1 else 4.0
    u = np.arange(1, out_length + 1) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based
    distance = u[:, None] - indices
    weights = scale * _cubic(scale * distance) if scale < 1 else _cubic(distance)
    weights /= weights.sum(1, keepdims=True)
    mirror = np.concatenate([np.arange(length), np.arange(length - 1, -1, -1)])
    columns = mirror[np.mod(indices.astype(np.int64) - 1, 2 * length)]
    matrix = np.zeros((out_length, length))
    np.add.at(matrix, (np.repeat(np.arange(out_length), taps), columns.reshape(-1)), weights.reshape(-1))
    return matrix


def matlab_imresize_half(images: Tensor) -> Tensor:
    """MATLAB ``imresize(im, 0.5)`` of ``(N, H, W)`` images (rows first, then columns, as MATLAB orders equal scales)."""
    rows = torch.from_numpy(imresize_matrix(images.shape[-2], 0.5)).to(images)
    cols = torch.from_numpy(imresize_matrix(images.shape[-1], 0.5)).to(images)
    return rows @ images @ cols.T


def _gaussian_blur(x: Tensor, padding: str) -> Tensor:
    """``(N, 1, H, W)`` filtered by the separable 7x7 window, same size; ``replicate`` or ``zeros`` borders."""
    taps = gaussian_window_1d(WINDOW_SIZE, WINDOW_SIGMA).to(x)  # MATLAB fspecial('gaussian', 7, 7/6) = g g^T
    pad = WINDOW_SIZE // 2
    if padding == "replicate":
        x = F.pad(x, (pad,) * 4, mode="replicate")
        return F.conv2d(F.conv2d(x, taps.view(1, 1, -1, 1)), taps.view(1, 1, 1, -1))
    return F.conv2d(F.conv2d(x, taps.view(1, 1, -1, 1), padding=(pad, 0)), taps.view(1, 1, 1, -1), padding=(0, pad))


def mscn(images: Tensor, padding: str) -> Tensor:
    """``(I - mu) / (sigma + 1)`` of ``(N, H, W)`` images; ``padding`` ``replicate`` (NIQE's ``imfilter``) or ``zeros`` (BRISQUE's ``filter2``)."""
    x = images[:, None]
    mu = _gaussian_blur(x, padding)
    sigma = (_gaussian_blur(x * x, padding) - mu * mu).abs().sqrt()
    z = ((x - mu) / (sigma + 1))[:, 0]
    return torch.where(z.abs() <= FLAT_TOLERANCE, torch.zeros_like(z), z)


def _lgamma(x: np.ndarray) -> np.ndarray:
    return torch.lgamma(torch.from_numpy(x)).numpy()


#: ``Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2`` on the grid (GGD moment ratio), and the AGGD's ``Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a))``.
_GGD_RATIO = np.exp(_lgamma(1 / SHAPE_GRID) + _lgamma(3 / SHAPE_GRID) - 2 * _lgamma(2 / SHAPE_GRID))
_AGGD_RATIO = 1 / _GGD_RATIO


def _grid(values: Tensor) -> Tensor:
    return torch.from_numpy(SHAPE_GRID).to(values)


def fit_ggd(samples: Tensor) -> tuple[Tensor, Tensor]:
    """``(shape, sigma)`` of a zero-mean GGD per row of ``(N, L)``: shape where ``Gamma(1/a)Gamma(3/a)/Gamma(2/a)^2``
    is nearest ``E[x^2] / E[|x|]^2``."""
    grid, ratio_of = _grid(samples), torch.from_numpy(_GGD_RATIO).to(samples)
    sigma_sq = (samples**2).mean(1)
    rho = sigma_sq / samples.abs().mean(1) ** 2
    shape = grid[(rho[:, None] - ratio_of[None, :]).abs().argmin(1)]
    return shape, sigma_sq.sqrt()


def fit_aggd(samples: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(shape, left std, right std)`` of an AGGD per row of ``(N, L)`` (BRISQUE Sec. III-A; NaN sides when a side is empty)."""
    grid, ratio_of = _grid(samples), torch.from_numpy(_AGGD_RATIO).to(samples)
    negative, positive = samples < 0, samples > 0
    left = ((samples**2) * negative).sum(1).div(negative.sum(1)).sqrt()
    right = ((samples**2) * positive).sum(1).div(positive.sum(1)).sqrt()
    gamma_hat = left / right
    r_hat = samples.abs().mean(1) ** 2 / (samples**2).mean(1)
    r_hat_norm = r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / (gamma_hat**2 + 1) ** 2
    distance = (ratio_of[None, :] - r_hat_norm[:, None]) ** 2
    shape = grid[distance.nan_to_num(nan=math.inf).argmin(1)]
    shape = torch.where(r_hat_norm.isnan(), torch.nan, shape)
    return shape, left, right


def gamma_ratio(shape: Tensor, numerator: float, denominator: float) -> Tensor:
    """``Gamma(numerator / shape) / Gamma(denominator / shape)``."""
    return torch.exp(torch.lgamma(numerator / shape) - torch.lgamma(denominator / shape))
