"""The common form of srkit's forward processes.

Every process here is *affine-Gaussian* in the clean image ``x0``, the
condition ``y`` and the noise ``eps ~ N(0, I)``::

    x_t = c_x0(t) * x0 + c_y(t) * y + c_eps(t) * eps

VP/DDPM (``c_x0 = sqrt(ab_t), c_y = 0, c_eps = sqrt(1-ab_t)``), ResShift
(``1-eta_t, eta_t, kappa sqrt(eta_t)``) and DoSSR (``a_t(1-eta_t), a_t eta_t, s_t``)
differ only in these three coefficient arrays, so sampling ``x_t`` and the
eps <-> x0 conversions are written once, here.

Timestep convention
-------------------
``t`` is a 0-based integer index, ``t = 0 .. T-1``; index ``t`` is the papers'
step ``t + 1`` (DDPM writes ``t = 1 .. T``). The network receives ``float(t)``:
for VP and DoSSR built on the same betas, the same ``t`` is the same noise
level, so a VP (SR3) model is a valid starting point for DoSSR fine-tuning.
Index ``-1`` denotes the clean data (``c_x0 = 1, c_y = 0, c_eps = 0``); samplers
use it as the final target. Schedules are float64 numpy arrays computed once;
tensors are produced in the dtype of the tensors they multiply.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from srkit.diffusion.noise import randint
from srkit.errors import UsageError

#: Smallest ``c_x0`` divided by in :meth:`DiffusionProcess.x0_from_eps`. It only keeps the
#: result finite where the conversion is singular (``c_x0 -> 0``: VP at ``t = T`` with
#: ``ab_T -> 0``, DoSSR at ``eta_t = 1``); samplers clip the estimate to [-1, 1] on top.
MIN_SIGNAL = 1e-8


def lookup(padded: Tensor, t: Tensor) -> Tensor:
    """Values of a float64 schedule whose entry 0 is the clean state, at indices ``t`` in ``[-1, T)``."""
    return padded[t.detach().long().cpu() + 1]


def per_sample(values: Tensor, like: Tensor) -> Tensor:
    """Per-sample values ``(B,)`` cast to ``like``'s dtype/device and shaped to broadcast over it."""
    return values.to(device=like.device, dtype=like.dtype).reshape((-1,) + (1,) * (like.ndim - 1))


@dataclass(frozen=True)
class AffineCoefs:
    """The coefficients of ``x_t = x0 * c_x0 + y * c_y + eps * c_eps`` at one timestep."""

    c_x0: float
    c_y: float
    c_eps: float

    # Former names (read like the tensors x0, y, eps): kept so older call sites still run.
    @property
    def x0(self) -> float:
        return self.c_x0

    @property
    def y(self) -> float:
        return self.c_y

    @property
    def eps(self) -> float:
        return self.c_eps


class DiffusionProcess(ABC):
    """Base class: a forward process given by its coefficient arrays (see the module docstring)."""

    #: Short name used by recipes and by samplers to declare what they support.
    kind: ClassVar[str]

    def __init__(self, c_x0: np.ndarray, c_y: np.ndarray, c_eps: np.ndarray, noise_level: np.ndarray) -> None:
        arrays = [np.asarray(a, dtype=np.float64) for a in (c_x0, c_y, c_eps, noise_level)]
        if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1 or arrays[0].size < 1:
            raise UsageError("process coefficients must be 1-D arrays of one common length T >= 1")
        if not all(np.all(np.isfinite(a)) for a in arrays) or np.any(arrays[2] <= 0):
            raise UsageError("process coefficients must be finite with c_eps > 0 at every step")
        clean = np.array([[1.0], [0.0], [0.0], [0.0]])
        # Row order: c_x0, c_y, c_eps, noise_level; column 0 is the clean state (index -1).
        self._table = np.concatenate([clean, np.stack(arrays)], axis=1)
        self._table_torch = torch.from_numpy(self._table)

    # --- schedule look-ups ------------------------------------------------------------
    @property
    def T(self) -> int:
        """Number of training timesteps."""
        return self._table.shape[1] - 1

    def coef(self, t: int) -> AffineCoefs:
        """The float64 coefficients at index ``t`` (``-1`` = clean data)."""
        self._check_index(t)
        c_x0, c_y, c_eps, _ = self._table[:, t + 1]
        return AffineCoefs(float(c_x0), float(c_y), float(c_eps))

    @property
    def start_index(self) -> int:
        """The index a sampler starts from (``T - 1``; DoSSR starts below ``t1``)."""
        return self.T - 1

    def _check_index(self, t: int) -> None:
        if not -1 <= t < self.T:
            raise UsageError(f"timestep index {t} is outside [-1, {self.T - 1}]")

    def _gather(self, row: int, t: Tensor, like: Tensor) -> Tensor:
        """Row ``row`` of the table at indices ``t`` (shape ``(B,)``), shaped to broadcast over ``like``."""
        return per_sample(lookup(self._table_torch[row], t), like)

    # --- the forward process ----------------------------------------------------------
    def q_sample(self, x0: Tensor, y: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """Sample ``x_t = c_x0 x0 + c_y y + c_eps eps`` (the process's marginal ``q(x_t | x0, y)``)."""
        return self._gather(0, t, x0) * x0 + self._gather(1, t, x0) * y + self._gather(2, t, x0) * eps

    def x0_from_eps(self, x_t: Tensor, y: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """Invert :meth:`q_sample` for ``x0``: ``(x_t - c_y y - c_eps eps) / c_x0``.

        Singular where ``c_x0 -> 0``; the divisor is floored at :data:`MIN_SIGNAL` so the
        result stays finite (the value there is meaningless and samplers clip it).
        """
        c_x0 = self._gather(0, t, x_t).clamp_min(MIN_SIGNAL)
        return (x_t - self._gather(1, t, x_t) * y - self._gather(2, t, x_t) * eps) / c_x0

    def x0_from_vp_eps(self, x_t: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """Read ``eps`` as the noise of a VP process with the same total signal: ``(x_t - c_eps eps) / (c_x0 + c_y)``.

        The official DoSSR parameterisation (``x0 = (x_t - s_t eps) / a_t``; equal to
        :meth:`x0_from_eps` on VP): the network's target is then ``eps + c_y (y - x0) / c_eps``,
        and the conversion is never singular, unlike ``x0_from_eps`` where ``eta_t -> 1``.
        """
        signal = (self._gather(0, t, x_t) + self._gather(1, t, x_t)).clamp_min(MIN_SIGNAL)
        return (x_t - self._gather(2, t, x_t) * eps) / signal

    def vp_eps_from_x0(self, x_t: Tensor, x0: Tensor, t: Tensor) -> Tensor:
        """Invert :meth:`x0_from_vp_eps`: ``(x_t - (c_x0 + c_y) x0) / c_eps`` (needs ``t >= 0``)."""
        signal = self._gather(0, t, x_t) + self._gather(1, t, x_t)
        return (x_t - signal * x0) / self._gather(2, t, x_t)

    def eps_from_x0(self, x_t: Tensor, y: Tensor, x0: Tensor, t: Tensor) -> Tensor:
        """Invert :meth:`q_sample` for the noise: ``(x_t - c_x0 x0 - c_y y) / c_eps`` (needs ``t >= 0``)."""
        return (x_t - self._gather(0, t, x_t) * x0 - self._gather(1, t, x_t) * y) / self._gather(2, t, x_t)

    def noise_level(self, t: Tensor, like: Tensor | None = None) -> Tensor:
        """The noise level in [0, 1] at ``t`` (DREAM's ``lam = noise_level ** p``).

        Float64 of shape ``(B,)``, or broadcast over ``like`` in its dtype when given.
        """
        level = lookup(self._table_torch[3], t)
        return level if like is None else per_sample(level, like)

    def scale_model_input(self, x_t: Tensor, t: Tensor) -> Tensor:
        """What the network sees for ``x_t``: ``x_t`` itself unless a process says otherwise."""
        return x_t

    @abstractmethod
    def prior_sample(self, y: Tensor, noise: Tensor) -> Tensor:
        """The starting state at :attr:`start_index` for condition ``y`` and standard normal ``noise``."""

    def training_timesteps(
        self, batch: int, generator: torch.Generator, device: torch.device | str | None = None
    ) -> Tensor:
        """Training timesteps: uniform on ``[0, T)`` (DDPM Algorithm 1; ResShift; DoSSR eq. (8)).

        Drawn on the generator's device, returned on ``device`` (default: the generator's).
        """
        return randint(self.T, batch, generator, generator.device if device is None else device)

    def q_posterior_mean_variance(
        self, x0: Tensor, x_t: Tensor, t: Tensor, t_prev: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Mean and variance of ``q(x_{t_prev} | x_t, x0)``; only processes sampled ancestrally have one."""
        raise UsageError(f"the {self.kind!r} process has no ancestral posterior; use its own sampler")

    def _prev_index(self, t: Tensor, t_prev: Tensor | None) -> Tensor:
        """``t_prev`` if given (validated ``-1 <= t_prev < t``), else ``t - 1``."""
        if t_prev is None:
            return t - 1
        if bool(((t_prev >= t) | (t_prev < -1)).any()):
            raise UsageError("posterior needs -1 <= t_prev < t")
        return t_prev
