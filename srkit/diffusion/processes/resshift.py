"""ResShift residual-shifting process (METHODS.md §3; Yue et al. 2023)."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from srkit.diffusion.processes.base import DiffusionProcess, lookup, per_sample
from srkit.diffusion.schedules import resshift_sqrt_etas


class ResShiftProcess(DiffusionProcess):
    """``x_t = x0 + eta_t (y - x0) + kappa sqrt(eta_t) eps`` (ResShift eq. (2)).

    ``sqrt(eta_t)`` follows ResShift eq. (9)-(10) (:func:`~srkit.diffusion.schedules.resshift_sqrt_etas`;
    ``eta_1_rule`` chooses the paper's or the official code's first level). The network
    input is scaled to unit variance, ``x_t / sqrt(kappa^2 eta_t + 1)``, as the official
    code does; DREAM's noise level is ``sqrt(eta_t)``.
    """

    kind: ClassVar[str] = "resshift"

    def __init__(
        self,
        T: int = 15,
        kappa: float = 2.0,
        power: float = 0.3,
        min_noise_level: float = 0.04,
        eta_T: float = 0.999,
        eta_1_rule: str = "paper",
    ) -> None:
        self.kappa = float(kappa)
        self.sqrt_etas = resshift_sqrt_etas(T, kappa, power, min_noise_level, eta_T, eta_1_rule)
        self.etas = self.sqrt_etas**2
        super().__init__(1.0 - self.etas, self.etas, self.kappa * self.sqrt_etas, self.sqrt_etas)
        # Column 0 is the clean state (eta = 0), as in the base table.
        self._etas_padded = torch.cat([torch.zeros(1, dtype=torch.float64), torch.from_numpy(self.etas)])

    def eta(self, t: int) -> float:
        """``eta_t`` as a float64 (``0`` at the clean index ``-1``)."""
        self._check_index(t)
        return float(self._etas_padded[t + 1])

    def scale_model_input(self, x_t: Tensor, t: Tensor) -> Tensor:
        """``x_t / sqrt(kappa^2 eta_t + 1)``: unit-variance network input (official ResShift code)."""
        scale = torch.sqrt(self.kappa**2 * lookup(self._etas_padded, t) + 1.0)
        return x_t / per_sample(scale, x_t)

    def prior_sample(self, y: Tensor, noise: Tensor) -> Tensor:
        """``x_T = y + kappa sqrt(eta_T) eps`` (ResShift Algorithm 2)."""
        return y + self.kappa * float(self.sqrt_etas[-1]) * noise

    def q_posterior_mean_variance(
        self, x0: Tensor, x_t: Tensor, t: Tensor, t_prev: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``q(x_s | x_t, x0)`` for ``s = t_prev < t`` (default ``t - 1``; ``-1`` = clean), ResShift eq. (7).

        With ``a = eta_t - eta_s``: mean ``(eta_s/eta_t) x_t + (a/eta_t) x0``, variance
        ``kappa^2 (eta_s/eta_t) a``. Holds for any ``s < t`` because the chain's increments
        are independent, so respaced (fewer-step) sampling keeps the marginals.
        """
        s = self._prev_index(t, t_prev)
        eta_t, eta_s = lookup(self._etas_padded, t), lookup(self._etas_padded, s)
        shift = eta_t - eta_s
        mean = per_sample(eta_s / eta_t, x_t) * x_t + per_sample(shift / eta_t, x0) * x0
        return mean, per_sample(self.kappa**2 * eta_s / eta_t * shift, x_t)
