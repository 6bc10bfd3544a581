"""Selection criteria of ``srkit find-bc``: per-image scores of SR outputs against HR references.

``lpips`` (AlexNet LPIPS v0.1, the optimal-BC paper's criterion) and ``dists``
come from :mod:`srkit.metrics.perceptual`, whose offline weight check raises
``MetricUnavailable`` naming the missing file and where to put it (never a
silent fallback). ``psnr`` and ``ssim`` are srkit.metrics' Y-channel
definitions (no border crop); ``mse`` is the mean squared error on RGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from srkit.errors import MetricUnavailable, SettingError
from srkit.metrics import fidelity

Score = Callable[[Tensor, Tensor], Tensor]
CRITERIA = ("lpips", "dists", "psnr", "ssim", "mse")


@dataclass(frozen=True)
class Criterion:
    """A per-image score ``(sr, hr) -> (N,)`` (NCHW in [0, 1]) and its direction."""

    name: str
    lower_is_better: bool
    score: Score

    def loss(self, value: float) -> float:
        """The value to minimise: the score itself, or its negative for higher-is-better metrics."""
        return value if self.lower_is_better else -value


def _mse(sr: Tensor, hr: Tensor) -> Tensor:
    return (sr.double() - hr.double()).pow(2).mean(dim=(1, 2, 3)).cpu()


def make_criterion(name: str, *, device: str | torch.device = "cpu", weights_dir: Path | None = None) -> Criterion:
    """The criterion ``name`` ready to score on ``device`` (learned metrics are built, offline, now)."""
    if name not in CRITERIA:
        raise SettingError("metric", f"must be one of {', '.join(CRITERIA)}, got '{name}'")
    if name == "mse":
        return Criterion(name, True, _mse)
    if name in ("psnr", "ssim"):
        fn = getattr(fidelity, name)
        return Criterion(name, False, lambda sr, hr: fn(sr.float(), hr.float()).double().cpu())
    from srkit.metrics.perceptual import load_learned_metric

    try:
        scorer = load_learned_metric(name, weights_dir, str(torch.device(device)))
    except MetricUnavailable as err:
        raise MetricUnavailable(f"metric {name} is {err}") from None

    def learned(sr: Tensor, hr: Tensor) -> Tensor:
        with torch.no_grad():
            return scorer(sr.float(), hr.float().to(sr.device)).double().cpu()

    return Criterion(name, True, learned)
