"""The official schedules of DoSSR, CCSR v1 and CCSR v2, in float64 numpy (as the official samplers keep them).

- SD-2.1 betas: linear in sqrt space, ``beta_t = (sqrt(0.00085) + t/(T-1) (sqrt(0.012) - sqrt(0.00085)))^2``, T = 1000
  (LDM ``make_beta_schedule("linear")``).
- Respacing (Nichol & Dhariwal 2021, §4), one section: :func:`respaced` (srkit's
  ``spaced_timesteps`` rounds half up and keeps the *last* index of a one-index section;
  the official samplers round half to even and keep the first).
- DoSSR's truncated eta (official ``trunc_12``): ``eta_t = (1 - cos(pi s_t)) / 2`` with ``s_t``
  running from 0.001 to 0.999 over ``t < t1 = T/2``, and 1 from ``t1`` on. This is *not*
  srkit's ``dossr_etas`` grid (``(t + 1)/t1``), hence its own function here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srkit.errors import UsageError

T = 1000
LINEAR_START, LINEAR_END = 0.00085, 0.012
DOSSR_T1 = T // 2
DOSSR_S_RANGE = (0.001, 0.999)


def sd_betas(steps: int = T) -> np.ndarray:
    """SD-2.1's "linear" betas (linear in sqrt(beta)), float64."""
    return np.linspace(LINEAR_START**0.5, LINEAR_END**0.5, steps, dtype=np.float64) ** 2


def sd_alphas_cumprod(steps: int = T) -> np.ndarray:
    return np.cumprod(1.0 - sd_betas(steps))


def dossr_official_etas(steps: int = T, t1: int = DOSSR_T1) -> np.ndarray:
    """The official ``trunc_12`` eta: cosine over ``s = linspace(0.001, 0.999, t1)`` below ``t1``, 1 from ``t1``."""
    etas = np.ones(steps, dtype=np.float64)
    s = np.linspace(DOSSR_S_RANGE[0], DOSSR_S_RANGE[1], t1, dtype=np.float64)
    etas[:t1] = (1.0 - np.cos(np.pi * s)) / 2.0
    return etas


def respaced(size: int, count: int) -> list[int]:
    """Ascending kept indices of one respacing section (improved DDPM §4, as the official samplers use it).

    ``count`` indices from 0 to ``size - 1``: a float index advanced by ``(size - 1)/(count - 1)``
    and rounded with Python's ``round`` (half to even) at each step, so the values agree with
    the official ones to the last index; one index keeps index 0.
    """
    if not 1 <= count <= size:
        raise UsageError(f"cannot keep {count} of {size} timesteps")
    stride = 1.0 if count <= 1 else (size - 1) / (count - 1)
    kept, position = [], 0.0
    for _ in range(count):
        kept.append(round(position))
        position += stride
    return kept


@dataclass(frozen=True)
class SpacedSchedule:
    """A respaced DDPM schedule: kept timesteps (ascending) and the arrays at them (float64).

    ``betas`` are recomputed from consecutive kept ``alphas_cumprod`` (guided-diffusion's
    respacing), so the marginals at the kept steps are the original ones.
    """

    timesteps: np.ndarray
    alphas_cumprod: np.ndarray

    @classmethod
    def at(cls, alphas_cumprod: np.ndarray, timesteps: list[int]) -> SpacedSchedule:
        last, betas = 1.0, []
        for t in timesteps:
            betas.append(1.0 - alphas_cumprod[t] / last)
            last = alphas_cumprod[t]
        return cls(np.asarray(timesteps, dtype=np.int64), np.cumprod(1.0 - np.asarray(betas, dtype=np.float64)))

    @property
    def betas(self) -> np.ndarray:
        prev = np.append(1.0, self.alphas_cumprod[:-1])
        return 1.0 - self.alphas_cumprod / prev

    @property
    def alphas_cumprod_prev(self) -> np.ndarray:
        return np.append(1.0, self.alphas_cumprod[:-1])

    @property
    def sqrt_recip_alphas_cumprod(self) -> np.ndarray:
        return np.sqrt(1.0 / self.alphas_cumprod)

    @property
    def sqrt_recipm1_alphas_cumprod(self) -> np.ndarray:
        return np.sqrt(1.0 / self.alphas_cumprod - 1.0)

    @property
    def posterior_variance(self) -> np.ndarray:
        """``beta_t (1 - ab_{t-1}) / (1 - ab_t)`` (DDPM eq. (7), fixed-small variance)."""
        return self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)

    @property
    def posterior_mean_coef1(self) -> np.ndarray:
        """Weight of ``x0`` in the DDPM posterior mean (eq. (7))."""
        return self.betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)

    @property
    def posterior_mean_coef2(self) -> np.ndarray:
        """Weight of ``x_t`` in the DDPM posterior mean (eq. (7))."""
        return (1.0 - self.alphas_cumprod_prev) * np.sqrt(1.0 - self.betas) / (1.0 - self.alphas_cumprod)
