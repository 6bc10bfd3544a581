"""NIQE (Mittal, Soundararajan & Bovik, IEEE SPL 2013), as the authors' MATLAB ``computequality.m``.

The image is turned grey by :func:`srkit.metrics.nss.matlab_grey` (MATLAB
``rgb2gray`` of the 8-bit image) and cropped at the bottom/right to a multiple
of the 96x96 block. At two scales (the image, then ``imresize(im, 0.5)``), MSCN
coefficients (``imfilter`` with replicated borders) are cut into blocks (96 px,
then 48 px: the same blocks), and each block gives 18 features (Sec. III-B): the
AGGD fit of the coefficients (shape, mean of the two scales) and, for the four
neighbour products (shifts (0,1), (1,0), (1,1), (1,-1), circular within the
block), shape, mean ``(b_r - b_l) Gamma(2/a)/Gamma(1/a)``, ``b_l``, ``b_r``.
The 36 features of all blocks give a Gaussian ``(nu_2, Sigma_2)`` (NaN rows
dropped, as ``nanmean``/``nancov``), and (Eq. 10)

    NIQE = sqrt((nu_1 - nu_2)^T ((Sigma_1 + Sigma_2) / 2)^+ (nu_1 - nu_2))

with ``(nu_1, Sigma_1)`` the pristine model (:func:`srkit.pretrained.iqa.niqe_pristine_model`)
and ``^+`` the pseudo-inverse. All in float64, as MATLAB computes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.errors import InputError
from srkit.metrics.nss import fit_aggd, gamma_ratio, matlab_grey, matlab_imresize_half, mscn

BLOCK = 96
NIQE_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _blocks(image: Tensor, size: int) -> Tensor:
    """``(H, W)`` -> ``(blocks, size, size)`` in row-major block order."""
    h, w = image.shape
    return image.reshape(h // size, size, w // size, size).permute(0, 2, 1, 3).reshape(-1, size, size)


def block_features(blocks: Tensor) -> Tensor:
    """The 18 NIQE features of each MSCN block ``(B, s, s)`` -> ``(B, 18)``."""
    flat = blocks.reshape(blocks.shape[0], -1)
    shape, left, right = fit_aggd(flat)
    beta = torch.sqrt(gamma_ratio(shape, 1, 3))
    features = [shape, (left * beta + right * beta) / 2]
    for shift in NIQE_SHIFTS:
        pair = flat * torch.roll(blocks, shifts=shift, dims=(1, 2)).reshape(flat.shape)
        shape, left, right = fit_aggd(pair)
        beta = torch.sqrt(gamma_ratio(shape, 1, 3))
        b_left, b_right = left * beta, right * beta
        features += [shape, (b_right - b_left) * gamma_ratio(shape, 2, 1), b_left, b_right]
    return torch.stack(features, 1)


def niqe_features(grey: Tensor) -> Tensor:
    """``(blocks, 36)`` features of one ``(H, W)`` float64 grey image (0-255 levels)."""
    h, w = (grey.shape[0] // BLOCK) * BLOCK, (grey.shape[1] // BLOCK) * BLOCK
    if h == 0 or w == 0:
        raise InputError(f"NIQE needs images of at least {BLOCK}x{BLOCK} pixels, got {grey.shape[0]}x{grey.shape[1]}")
    image = grey[:h, :w][None]
    per_scale = []
    for scale in (1, 2):
        per_scale.append(block_features(_blocks(mscn(image, "replicate")[0], BLOCK // scale)))
        image = matlab_imresize_half(image)
    return torch.cat(per_scale, 1)


def mvg_distance(features: Tensor, mu: Tensor, cov: Tensor) -> Tensor:
    """Eq. (10) between the pristine ``(mu, cov)`` and the Gaussian fitted to the NaN-free rows of ``features``."""
    rows = features[~features.isnan().any(1)]
    mu_d = rows.mean(0)
    centred = rows - mu_d
    cov_d = centred.T @ centred / max(rows.shape[0] - 1, 1)
    diff = mu - mu_d
    return torch.sqrt(diff @ torch.linalg.pinv((cov + cov_d) / 2) @ diff)


def niqe(images: Tensor, mu: Tensor, cov: Tensor) -> Tensor:
    """NIQE ``(N,)`` of ``(N, 3, H, W)`` RGB (or ``(N, 1, H, W)`` grey) images in [0, 1]; lower is better."""
    if images.shape[1] == 3:
        grey = matlab_grey(images)
    else:
        grey = torch.floor(images[:, 0].double().clamp(0, 1) * 255 + 0.5)
    mu, cov = mu.to(grey), cov.to(grey)
    return torch.stack([mvg_distance(niqe_features(g), mu, cov) for g in grey])
