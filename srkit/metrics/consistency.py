"""LR consistency (SR3, Saharia et al. 2021; DREAM Table 2 and Appendix "Consistency").

``consistency = mean_{c,h,w} (down(sr) - lr)^2``: the MSE between the LR input and
the SR output brought back to LR size. Units: pixels in [0, 1], no extra factor;
DREAM's tables print this number x 1e5 ("MSE (x10^-5)").

``down`` must be the operator that made the LR image. The default is the
antialiased bicubic resize of torch (``F.interpolate(..., mode="bicubic",
antialias=True)``, the cubic a=-0.5 kernel of PIL's bicubic); pass the
degradation module's downscale to match another LR pipeline exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from srkit.errors import InputError

#: ``downscale(img, (h, w)) -> img resized to (h, w)``.
Downscale = Callable[[torch.Tensor, tuple[int, int]], torch.Tensor]


def bicubic_downscale(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of an NCHW batch to ``size`` (PIL-style bicubic, a=-0.5)."""
    return F.interpolate(img, size=size, mode="bicubic", antialias=True, align_corners=False)


def lr_consistency(sr: torch.Tensor, lr: torch.Tensor, *, downscale: Downscale | None = None) -> torch.Tensor:
    """Per-image LR consistency ``mean((down(sr) - lr)^2)``, shape ``(N,)``, pixels in [0, 1]."""
    if sr.ndim != 4 or lr.ndim != 4 or sr.shape[:2] != lr.shape[:2]:
        raise InputError(
            f"SR and LR must be NCHW batches with the same N and C, got {tuple(sr.shape)} and {tuple(lr.shape)}"
        )
    if lr.shape[-2] > sr.shape[-2] or lr.shape[-1] > sr.shape[-1]:
        raise InputError(f"the LR image ({lr.shape[-2]}x{lr.shape[-1]}) is larger than the SR output")
    size = (int(lr.shape[-2]), int(lr.shape[-1]))
    down = (downscale or bicubic_downscale)(sr.to(torch.float64), size)
    return (down - lr.to(torch.float64)).pow(2).mean(dim=(1, 2, 3))
