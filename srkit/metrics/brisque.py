"""BRISQUE (Mittal, Moorthy & Bovik, IEEE TIP 2012) with LIVE's released SVR, as the authors' MATLAB code.

Features (Sec. III, ``brisque_feature.m``), at two scales (the grey image, then
``imresize(im, 0.5)``): MSCN coefficients with zero-padded filtering (MATLAB
``filter2(..., 'same')``); the GGD fit of all coefficients (shape, variance);
and for the products with the four neighbours (circular shifts (0,1), (1,0),
(1,1), (-1,1)) the AGGD fit: shape, mean ``(s_r - s_l) Gamma(2/a)/Gamma(1/a)
sqrt(Gamma(1/a)/Gamma(3/a))``, ``s_l^2``, ``s_r^2``. 36 features, each scaled to
[-1, 1] with the model's feature ranges (libsvm ``svm-scale``), then the RBF
epsilon-SVR:

    score = sum_i coef_i exp(-gamma ||x - sv_i||^2) - rho

(the ``probA`` of the model file only gives a noise level for libsvm's
probability output; ``svm-predict -b 1`` of a regression model prints this same
value). Lower is better; typical photos score 0-100.

The grey image is :func:`srkit.metrics.nss.matlab_grey` (MATLAB's ``rgb2gray`` of
the 8-bit image, as ``brisquescore.m``). Features are computed in float64 with
flat-patch coefficients set to exactly 0 (:func:`srkit.metrics.nss.mscn`). The
shape fits are grid searches over statistics that, in flat image areas, depend
on the sign of rounding noise; in float32 that noise follows the convolution's
summation order, so float32 results move with the implementation (TID2013 I19:
66.84 with a 2-D 7x7 convolution, as pyiqa 0.1.16 computes it, 67.66 with the
separable one) and with the device. In float64 with flat patches exact, srkit
gives 94.64, -0.11, 0.99, 5.90, 74.43 on pyiqa's five TID2013 images, against
MATLAB's 94.64, -0.11, 0.99, 5.36, 72.26 (pyiqa: 94.65, -0.11, 1.08, 5.14,
66.84); MATLAB's own flat-area noise cannot be reproduced, hence I08 and I19.
"""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.metrics.nss import fit_aggd, fit_ggd, gamma_ratio, matlab_grey, matlab_imresize_half, mscn

BRISQUE_SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
SCALES = 2


def brisque_features(grey: Tensor) -> Tensor:
    """``(N, 36)`` BRISQUE features of ``(N, H, W)`` grey images (0-255 levels), in ``grey``'s dtype."""
    image, features = grey, []
    for _ in range(SCALES):
        z = mscn(image, "zeros")
        flat = z.reshape(z.shape[0], -1)
        shape, sigma = fit_ggd(flat)
        features += [shape, sigma**2]
        for shift in BRISQUE_SHIFTS:
            pair = flat * torch.roll(z, shifts=shift, dims=(1, 2)).reshape(flat.shape)
            shape, left, right = fit_aggd(pair)
            mean = (right - left) * gamma_ratio(shape, 2, 1) * torch.sqrt(gamma_ratio(shape, 1, 3))
            features += [shape, mean, left**2, right**2]
        image = matlab_imresize_half(image)
    return torch.stack(features, 1)


def scale_features(features: Tensor, ranges: Tensor) -> Tensor:
    """libsvm ``svm-scale``: feature ``j`` from ``[ranges[j+1, 0], ranges[j+1, 1]]`` to ``[ranges[0, 0], ranges[0, 1]]``."""
    lower, upper = ranges[0, 0], ranges[0, 1]
    low, high = ranges[1:, 0], ranges[1:, 1]
    return lower + (upper - lower) * (features - low) / (high - low)


def svr_predict(scaled: Tensor, coef: Tensor, sv: Tensor, gamma: Tensor, rho: Tensor) -> Tensor:
    """RBF epsilon-SVR decision value ``sum_i coef_i exp(-gamma ||x - sv_i||^2) - rho`` per row of ``scaled``."""
    distance = torch.cdist(scaled.double(), sv.double()) ** 2
    return torch.exp(-gamma.double() * distance) @ coef.double() - rho.double()


def brisque(images: Tensor, model: dict[str, Tensor], dtype: torch.dtype = torch.float64) -> Tensor:
    """BRISQUE ``(N,)`` of ``(N, 3, H, W)`` RGB (or ``(N, 1, H, W)`` grey) images in [0, 1]; features in ``dtype``."""
    if images.shape[1] == 3:
        grey = matlab_grey(images)
    else:
        grey = torch.floor(images[:, 0].double().clamp(0, 1) * 255 + 0.5)
    features = brisque_features(grey.to(dtype)).double()
    scaled = scale_features(features, model["ranges"].to(features))
    return svr_predict(scaled, model["coef"], model["sv"], model["gamma"], model["rho"]).cpu()
