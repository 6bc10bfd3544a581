"""Stability over N runs with different noise: G-STD and L-STD (CCSR, Sun et al. 2024, eqs. 4-5).

For M images, each super-resolved N times::

    G-STD^p = 1/M sum_j sqrt( 1/N sum_i (p_i^j - mean_i p_i^j)^2 )                 (4)
    L-STD   = 1/(MHW) sum_j sum_{h,w} sqrt( 1/N sum_i (x_i^j[h,w] - mean_i x_i^j[h,w])^2 )   (5)

Both use the population standard deviation (divide by N). L-STD is measured on
pixels in [0, 1]; colour channels enter like pixel positions (the std is taken
per channel and averaged over C, H and W, as CCSR's evaluation code does), so a
grey image and its 3-channel copy have the same L-STD. Images may differ in
size between j, which only changes how many pixels each image averages.
CCSR's script (``cal_iqa/iqa_L-STD.py``) scores the saved 8-bit PNGs with 4
border pixels cropped: to reproduce its numbers, quantise and crop each run
(:func:`srkit.metrics.fidelity.crop_border`) before adding it.

Everything accumulates in float64 with Welford's update, one run at a time, so
N runs of a large image need two image-sized buffers (:class:`RunningStd`), and
N identical runs give exactly 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from srkit.errors import InputError

ArrayLike = torch.Tensor | np.ndarray | Sequence[Sequence[float]]


class RunningStd:
    """Element-wise population mean and std over a stream of same-shaped tensors (Welford 1962)."""

    def __init__(self) -> None:
        self.count = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None

    def add(self, sample: torch.Tensor) -> None:
        """Fold in one run: ``mean += d / n``, ``M2 += d (x - mean)`` with ``d = x - mean_old``."""
        x = torch.as_tensor(sample).detach().to(device="cpu", dtype=torch.float64)
        if self._mean is None or self._m2 is None:
            self._mean, self._m2 = x.clone(), torch.zeros_like(x)
        elif x.shape != self._mean.shape:
            raise InputError(f"every run of an image must have the same shape: {tuple(x.shape)} vs {tuple(self._mean.shape)}")
        else:
            delta = x - self._mean
            self._mean += delta / (self.count + 1)
            self._m2 += delta * (x - self._mean)
        self.count += 1

    def mean(self) -> torch.Tensor:
        """Element-wise mean over the runs so far."""
        if self._mean is None:
            raise InputError("no runs added yet")
        return self._mean.clone()

    def std(self) -> torch.Tensor:
        """Element-wise population std ``sqrt(M2 / N)`` over the runs so far."""
        if self._m2 is None:
            raise InputError("no runs added yet")
        return torch.sqrt(self._m2 / self.count)


def std_over_runs(runs: Iterable[torch.Tensor]) -> torch.Tensor:
    """Element-wise population std over an iterable of runs (a tensor iterates over its first axis)."""
    acc = RunningStd()
    for run in runs:
        acc.add(run)
    if acc.count == 0:
        raise InputError("need at least one run")
    return acc.std()


def g_std(values: ArrayLike) -> float:
    """G-STD of one metric, eq. (4): ``values[i, j]`` is the metric of run i on image j, shape (N, M)."""
    try:
        table = torch.as_tensor(np.asarray(values, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise InputError(f"G-STD needs numbers (drop metrics reported unavailable): {err}") from err
    if table.ndim != 2:
        raise InputError(f"G-STD needs a (runs, images) table, got shape {tuple(table.shape)}")
    return float(std_over_runs(table).mean())


def image_l_std(runs: torch.Tensor | Iterable[torch.Tensor] | RunningStd) -> float:
    """Inner term of eq. (5) for one image: ``mean_{c,h,w} std_i x_i[c,h,w]``.

    ``runs``: a tensor (N, C, H, W), an iterable of the N runs (C, H, W) or
    (1, C, H, W), or a :class:`RunningStd` already fed with them.
    """
    std = runs.std() if isinstance(runs, RunningStd) else std_over_runs(runs)
    return float(std.mean())


def l_std(images: torch.Tensor | Iterable[torch.Tensor | Iterable[torch.Tensor] | RunningStd]) -> float:
    """L-STD, eq. (5): the mean over images of :func:`image_l_std`, pixels in [0, 1].

    ``images``: a tensor (N, M, C, H, W) of same-sized images, or an iterable with
    one entry per image, each anything :func:`image_l_std` accepts (sizes may differ).
    """
    if isinstance(images, torch.Tensor):
        if images.ndim != 5:
            raise InputError(f"L-STD needs a (runs, images, C, H, W) tensor, got shape {tuple(images.shape)}")
        images = images.transpose(0, 1)
    per_image = [image_l_std(runs) for runs in images]
    if not per_image:
        raise InputError("need at least one image")
    return float(np.mean(per_image))
