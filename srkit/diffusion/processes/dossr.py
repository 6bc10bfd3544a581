"""DoSSR domain-shift process (METHODS.md §4; Cui et al. 2024, §3.1)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from srkit.diffusion.noise import randint
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.diffusion.schedules import dossr_etas
from srkit.errors import UsageError


class DoSSRProcess(DiffusionProcess):
    """``x_t = a_t (eta_t y + (1 - eta_t) x0) + s_t eps`` (DoSSR eq. (2)).

    ``a_t = sqrt(ab_t)`` and ``s_t = sqrt(1 - ab_t)`` come from an ordinary DDPM ``betas``
    schedule, so index ``t`` has the noise level of the VP process on the same betas (a VP
    model is the prior DoSSR fine-tunes). ``eta_t`` is the cosine shift of DoSSR eq. (4),
    reaching 1 at the paper's step ``t1`` (default ``T // 2``), i.e. at index ``t1 - 1``.

    Sampling starts at :attr:`start_index` = ``t1 - 2``, the last index with ``eta < 1``,
    because the data prediction ``x0 = (x_t - a eta y - s eps)/(a (1 - eta))`` is singular
    at ``eta = 1``. The start state ``a y + s eps`` is the exact marginal at ``t1``; used one
    index lower it is off by ``a (1 - eta)(x0 - y)`` with ``1 - eta = sin^2(pi / (2 t1))``
    (about 1e-5 for ``t1 = 500``). DREAM's noise level is ``s_t``.
    """

    kind: ClassVar[str] = "dossr"

    def __init__(self, betas: np.ndarray, t1: int | None = None, *, train_below_t1: bool = False) -> None:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size < 2 or not np.all((betas > 0) & (betas < 1)):
            raise UsageError("DoSSR betas must be a 1-D array of at least 2 values in (0, 1)")
        T = betas.size
        self.t1 = T // 2 if t1 is None else int(t1)
        self.train_below_t1 = bool(train_below_t1)
        self.betas = betas
        self.alphas_cumprod = np.cumprod(1.0 - betas)
        self.etas = dossr_etas(T, self.t1)
        a, s = np.sqrt(self.alphas_cumprod), np.sqrt(1.0 - self.alphas_cumprod)
        super().__init__(a * (1.0 - self.etas), a * self.etas, s, s)

    def training_timesteps(
        self, batch: int, generator: torch.Generator, device: torch.device | str | None = None
    ) -> Tensor:
        """Uniform on ``[0, T)`` (DoSSR eq. (8), fine-tuning a prior on every t), or with ``train_below_t1`` on
        ``[0, t1)``: the steps sampling visits (``x_t`` at ``t >= t1`` does not depend on ``x0``)."""
        if not self.train_below_t1:
            return super().training_timesteps(batch, generator, device)
        return randint(self.t1, batch, generator, generator.device if device is None else device)

    @property
    def start_index(self) -> int:
        """``t1 - 2``: the paper's step ``t1 - 1``, the last one with ``eta < 1``."""
        return self.t1 - 2

    def prior_sample(self, y: Tensor, noise: Tensor) -> Tensor:
        """``a y + s eps`` at :attr:`start_index` (DoSSR Algorithm 1, line 1)."""
        coefs = self.coef(self.start_index)
        a = coefs.c_x0 + coefs.c_y  # a_t (1 - eta_t) + a_t eta_t
        return a * y + coefs.c_eps * noise
