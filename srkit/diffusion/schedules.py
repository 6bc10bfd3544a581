"""Noise schedules, computed once in float64 numpy (METHODS.md §1, §3, §4).

Every array is indexed by the 0-based timestep index ``t = 0 .. T-1`` used
throughout srkit (see :mod:`srkit.diffusion.processes.base`): entry ``t`` is
the papers' step ``t + 1``.
"""

from __future__ import annotations

import math

import numpy as np

from srkit.errors import UsageError

BETA_SCHEDULES = ("linear", "scaled_linear", "cosine")


def linear_betas(T: int, beta_start: float, beta_end: float) -> np.ndarray:
    """``beta_t`` evenly spaced from ``beta_start`` to ``beta_end`` (DDPM, SR3)."""
    return np.linspace(beta_start, beta_end, T, dtype=np.float64)


def scaled_linear_betas(T: int, beta_start: float = 0.00085, beta_end: float = 0.012) -> np.ndarray:
    """``sqrt(beta_t)`` evenly spaced (Stable Diffusion's schedule, fine-tuned by DoSSR and CCSR)."""
    return np.linspace(math.sqrt(beta_start), math.sqrt(beta_end), T, dtype=np.float64) ** 2


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Improved-DDPM cosine schedule: ``ab(t) = cos^2(((t/T + s)/(1 + s)) pi/2)``, betas capped at ``max_beta``.

    Nichol & Dhariwal 2021, eq. (17); ``beta_t = 1 - ab(t)/ab(t-1)``.
    """
    steps = np.arange(T + 1, dtype=np.float64) / T
    alpha_bar = np.cos((steps + s) / (1.0 + s) * math.pi / 2.0) ** 2
    return np.minimum(1.0 - alpha_bar[1:] / alpha_bar[:-1], max_beta)


def make_betas(schedule: str, T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """The DDPM betas for a named schedule; ``beta_start``/``beta_end`` are ignored by ``cosine``."""
    if T < 1:
        raise UsageError(f"T must be >= 1, got {T}")
    if schedule == "linear":
        betas = linear_betas(T, beta_start, beta_end)
    elif schedule == "scaled_linear":
        betas = scaled_linear_betas(T, beta_start, beta_end)
    elif schedule == "cosine":
        betas = cosine_betas(T)
    else:
        raise UsageError(f"unknown beta schedule {schedule!r}; choose one of {', '.join(BETA_SCHEDULES)}")
    if not np.all((betas > 0) & (betas < 1)):
        raise UsageError(f"betas of the {schedule!r} schedule must lie in (0, 1); check beta_start/beta_end")
    return betas


def resshift_sqrt_etas(
    T: int,
    kappa: float,
    power: float,
    min_noise_level: float,
    eta_T: float,
    eta_1_rule: str = "paper",
) -> np.ndarray:
    """ResShift's non-uniform geometric schedule for ``sqrt(eta_t)`` (ResShift eq. (9)-(10)).

    ``sqrt(eta_t) = sqrt(eta_1) * b0 ** beta_t`` with ``beta_t = ((t-1)/(T-1))**p * (T-1)`` and
    ``b0 = exp(log(eta_T/eta_1) / (2(T-1)))``, so ``sqrt(eta_T)`` is reached exactly at ``t = T``.

    ``eta_1_rule`` picks the first noise level:

    - ``"paper"``: ``sqrt(eta_1) = min(min_noise_level/kappa, sqrt(0.001))`` (ResShift §3.2 with 0.04);
    - ``"official"``: ``sqrt(eta_1) = min(min_noise_level/kappa, min_noise_level)``, as the public code
      does; that code also sets ``sqrt(eta_T) = 0.99``, i.e. pass ``eta_T = 0.9801`` for a match.

    For ``kappa = 2`` and ``min_noise_level = 0.04`` both rules give ``sqrt(eta_1) = 0.02``.
    """
    if T < 2:
        raise UsageError(f"ResShift needs T >= 2 steps, got T={T}")
    if eta_1_rule == "paper":
        sqrt_eta_1 = min(min_noise_level / kappa, math.sqrt(0.001))
    elif eta_1_rule == "official":
        sqrt_eta_1 = min(min_noise_level / kappa, min_noise_level)
    else:
        raise UsageError(f"unknown eta_1 rule {eta_1_rule!r}; choose 'paper' or 'official'")
    sqrt_eta_T = math.sqrt(eta_T)
    if not sqrt_eta_1 < sqrt_eta_T < 1.0:
        raise UsageError(f"ResShift needs eta_1 < eta_T < 1, got eta_1={sqrt_eta_1**2:.3g}, eta_T={eta_T}")
    progress = (np.arange(T, dtype=np.float64) / (T - 1)) ** power
    return sqrt_eta_1 * np.exp(math.log(sqrt_eta_T / sqrt_eta_1) * progress)


def dossr_etas(T: int, t1: int) -> np.ndarray:
    """DoSSR's shifting sequence ``eta_t = (1 - cos(pi t / t1)) / 2`` for ``t <= t1``, 1 after (DoSSR eq. (4)).

    ``t`` is the paper's step, so index ``i`` holds ``eta_{i+1}`` and ``eta = 1`` from index ``t1 - 1`` on.
    """
    if not 2 <= t1 <= T:
        raise UsageError(f"DoSSR needs 2 <= t1 <= T={T}, got t1={t1}")
    paper_t = np.arange(1, T + 1, dtype=np.float64)
    etas = 0.5 * (1.0 - np.cos(math.pi * np.minimum(paper_t, t1) / t1))
    etas[paper_t >= t1] = 1.0
    return etas
