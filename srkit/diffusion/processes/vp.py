"""VP / DDPM forward process (METHODS.md §1; Ho et al. 2020; SR3)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from srkit.diffusion.processes.base import DiffusionProcess, lookup, per_sample
from srkit.errors import UsageError


class VPProcess(DiffusionProcess):
    """``x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) eps`` with ``ab_t = prod_{s <= t} (1 - beta_s)``.

    ``y`` does not enter the process (the network sees it as a condition). The noise
    level used by DREAM is ``sqrt(1 - ab_t)``. The network may predict ``eps``, ``x0``
    or ``v = sqrt(ab) eps - sqrt(1-ab) x0`` (Salimans & Ho 2022).
    """

    kind: ClassVar[str] = "vp"

    def __init__(self, betas: np.ndarray) -> None:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size < 1 or not np.all((betas > 0) & (betas < 1)):
            raise UsageError("VP betas must be a non-empty 1-D array with values in (0, 1)")
        self.betas = betas
        self.alphas_cumprod = np.cumprod(1.0 - betas)
        signal, noise = np.sqrt(self.alphas_cumprod), np.sqrt(1.0 - self.alphas_cumprod)
        super().__init__(signal, np.zeros_like(betas), noise, noise)
        self._alpha_bar_padded = torch.from_numpy(np.concatenate([[1.0], self.alphas_cumprod]))

    def alpha_bar(self, t: int) -> float:
        """``ab_t`` as a float64 (``1`` at the clean index ``-1``)."""
        self._check_index(t)
        return float(self._alpha_bar_padded[t + 1])

    def prior_sample(self, y: Tensor, noise: Tensor) -> Tensor:
        """``x_T ~ N(0, I)``: the standard DDPM start (``ab_T ~ 0``)."""
        return noise

    # --- v-parameterisation -------------------------------------------------------------
    def v_from_x0_eps(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """``v = sqrt(ab) eps - sqrt(1-ab) x0``."""
        return self._gather(0, t, x0) * eps - self._gather(2, t, x0) * x0

    def x0_from_v(self, x_t: Tensor, v: Tensor, t: Tensor) -> Tensor:
        """``x0 = sqrt(ab) x_t - sqrt(1-ab) v``."""
        return self._gather(0, t, x_t) * x_t - self._gather(2, t, x_t) * v

    def eps_from_v(self, x_t: Tensor, v: Tensor, t: Tensor) -> Tensor:
        """``eps = sqrt(1-ab) x_t + sqrt(ab) v``."""
        return self._gather(2, t, x_t) * x_t + self._gather(0, t, x_t) * v

    # --- posterior --------------------------------------------------------------------
    def q_posterior_mean_variance(
        self, x0: Tensor, x_t: Tensor, t: Tensor, t_prev: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``q(x_s | x_t, x0)`` for ``s = t_prev < t`` (default ``t - 1``; ``-1`` = clean).

        With the respaced beta ``beta' = 1 - ab_t / ab_s`` (METHODS.md §1, improved DDPM §4):
        mean ``sqrt(ab_s) beta'/(1-ab_t) x0 + sqrt(1-beta') (1-ab_s)/(1-ab_t) x_t``,
        variance ``(1-ab_s)/(1-ab_t) beta'`` (DDPM eq. (6)-(7) for ``s = t - 1``).
        """
        s = self._prev_index(t, t_prev)
        ab_t, ab_s = lookup(self._alpha_bar_padded, t), lookup(self._alpha_bar_padded, s)
        beta = 1.0 - ab_t / ab_s
        coef_x0 = torch.sqrt(ab_s) * beta / (1.0 - ab_t)
        coef_xt = torch.sqrt(1.0 - beta) * (1.0 - ab_s) / (1.0 - ab_t)
        variance = (1.0 - ab_s) / (1.0 - ab_t) * beta
        mean = per_sample(coef_x0, x0) * x0 + per_sample(coef_xt, x_t) * x_t
        return mean, per_sample(variance, x_t)
