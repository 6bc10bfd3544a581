"""Summary statistics of degraded LR images, to check that a faster pipeline keeps the same distribution.

Four numbers per LR image, averaged over pairs (with their standard error over pairs):

- ``mean`` and ``std`` of the LR pixels (all channels);
- ``sharpness``: mean absolute 4-neighbour Laplacian ``|4 I - I_N - I_S - I_E - I_W|`` of the luma;
- ``noise``: Immerkaer's fast noise estimate (Immerkaer, "Fast noise variance estimation",
  CVIU 64(2), 1996, Eq. 9): ``sigma = sqrt(pi / 2) / (6 (W - 2)(H - 2)) * sum |I * M|`` with
  ``M = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` on the luma, in 8-bit levels.

:func:`reference_pairs` is the fixed workload (HR images and per-pair seeds) the
statistics are recorded on (``benchmarks/degrade_stats.py``) and compared on
(``tests/degrade/test_distribution.py``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from srkit.degrade.pipeline import apply
from srkit.degrade.preset import load_preset
from srkit.degrade.sampling import pair_rng, sample_params

STATISTICS = ("mean", "std", "sharpness", "noise")
_LUMA = (0.299, 0.587, 0.114)
_IMMERKAER = torch.tensor([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
_LAPLACE = torch.tensor([[0.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 0.0]])


def _luma(x: torch.Tensor) -> torch.Tensor:
    return (x * torch.tensor(_LUMA, dtype=x.dtype).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def per_image_statistics(lr: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four statistics of every image of ``lr`` (N,3,h,w in [0, 1]), each a tensor (N,)."""
    y = _luma(lr.double()) * 255.0
    lap = F.conv2d(y, _LAPLACE.double().view(1, 1, 3, 3)).abs().mean(dim=(1, 2, 3))
    h, w = y.shape[-2:]
    immerkaer = F.conv2d(y, _IMMERKAER.double().view(1, 1, 3, 3)).abs().sum(dim=(1, 2, 3))
    noise = immerkaer * math.sqrt(math.pi / 2) / (6 * (w - 2) * (h - 2))
    flat = lr.double().flatten(1)
    return {"mean": flat.mean(dim=1), "std": flat.std(dim=1), "sharpness": lap, "noise": noise}


def summarise(lr: torch.Tensor) -> dict[str, tuple[float, float]]:
    """``{statistic: (mean over images, standard error of that mean)}`` for ``lr`` (N,3,h,w)."""
    out = {}
    for name, values in per_image_statistics(lr).items():
        out[name] = (float(values.mean()), float(values.std() / math.sqrt(values.numel())))
    return out


def reference_hr(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """``count`` photo-like HR crops: smoothed noise plus a few hard edges, deterministic in ``seed``."""
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.rand(count, 3, size, size, generator=g), 9, 1, 4, count_include_pad=False)
    x = 0.25 + 0.5 * (x - 0.5) / x.std()
    edges = torch.rand(count, 3, 1, 1, generator=g)
    x[..., size // 3 :, : size // 2] += 0.3 * edges
    return x.clamp(0, 1)


def reference_pairs(preset: str, count: int = 64, size: int = 128, batch: int = 16) -> torch.Tensor:
    """The LR images of ``count`` pairs of ``preset`` at x4 on :func:`reference_hr` (pair ``i`` seeded ``(0, i)``)."""
    hr = reference_hr(count, size)
    spec = load_preset(preset)
    params = [sample_params(spec, pair_rng(0, i), 4) for i in range(count)]
    lrs = [apply(hr[s : s + batch], params[s : s + batch]).lr for s in range(0, count, batch)]
    return torch.cat(lrs)
