"""The official samplers of DoSSR, CCSR v1 and CCSR v2, step for step and draw for draw.

Each sampler takes ``eps_fn(x, t) -> eps`` (one ControlNet + UNet evaluation at the
original timestep ``t``), the start tensors, and ``draw(like)``, which returns the next
standard-normal tensor shaped like ``like`` in the official draw order. Schedules are
float64 numpy; coefficients are applied as Python floats to the tensors, in their dtype.
``on_step`` receives a dict per network evaluation (for callbacks and tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import DDPMScheduler
from torch import Tensor

from srkit.errors import UsageError
from srkit.released.sd.schedules import (
    DOSSR_T1,
    SpacedSchedule,
    dossr_official_etas,
    respaced,
    sd_alphas_cumprod,
)

EpsFn = Callable[[Tensor, int], Tensor]
Draw = Callable[[Tensor], Tensor]
OnStep = Callable[[dict[str, Any]], Any]
DOSSR_ORDERS = (1, 2, 3)


def check_dossr_order(order: int) -> None:
    """One-line UsageError unless ``order`` is one of the official DoS-SDE orders."""
    if order not in DOSSR_ORDERS:
        raise UsageError(f"DoSSR's official sampler has orders 1, 2 and 3, got {order}")


def check_truncation(t_max: float, t_min: float) -> None:
    """One-line UsageError unless ``0 <= t_min < t_max <= 1`` (CCSR's truncated chain, as fractions of T)."""
    if not 0.0 <= t_min < t_max <= 1.0:
        raise UsageError(f"CCSR needs 0 <= t_min < t_max <= 1, got t_min={t_min}, t_max={t_max}")


def _report(on_step: OnStep | None, **record: Any) -> bool:
    return bool(on_step(record)) if on_step is not None else False


# --- DoSSR ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoSSRSchedule:
    """The official DoS-SDE arrays at the kept timesteps (ascending; index 0 is t = 0).

    ``g = sqrt(ab) (1 - eta)`` (official ``alphas_multi_one_minus_etas``), ``sigma = sqrt(1 - ab)``,
    ``lam = sigma / g`` (DoSSR eq. (11)).
    """

    timesteps: np.ndarray
    alphas_cumprod: np.ndarray
    etas: np.ndarray

    @classmethod
    def official(cls, steps: int) -> DoSSRSchedule:
        """``steps + 1`` indices respaced over ``[0, t1)`` (the last one unused as a target), official ``trunc_12`` eta."""
        if steps < 1:
            raise UsageError(f"DoSSR needs at least 1 step, got {steps}")
        kept = respaced(DOSSR_T1, steps + 1)
        spaced = SpacedSchedule.at(sd_alphas_cumprod(), kept)
        return cls(spaced.timesteps, spaced.alphas_cumprod, dossr_official_etas()[kept])

    @property
    def sqrt_alphas_cumprod(self) -> np.ndarray:
        return np.sqrt(self.alphas_cumprod)

    @property
    def sigmas(self) -> np.ndarray:
        return np.sqrt(1.0 - self.alphas_cumprod)

    @property
    def g(self) -> np.ndarray:
        return self.sqrt_alphas_cumprod * (1.0 - self.etas)

    @property
    def lambdas(self) -> np.ndarray:
        return self.sigmas / self.g


def _order3_weight(lam_s: float, lam_t: float) -> float:
    """Weight of the second difference in DoSSR eq. (47): ``(lam_s - 3 lam_t)(lam_s - lam_t)/2 - lam_t^2 ln(lam_t/lam_s)``."""
    return (lam_s - 3.0 * lam_t) * (lam_s - lam_t) / 2.0 - lam_t * lam_t * math.log(lam_t / lam_s)


@torch.no_grad()
def sample_dossr_official(
    eps_fn: EpsFn, y: Tensor, schedule: DoSSRSchedule, *, order: int, draw: Draw,
    start_noise: Tensor | None = None, on_step: OnStep | None = None,
) -> Tensor:
    """DoS-SDE of order 1-3 as the official ``shift_sample_{1,2,3}_order`` (DoSSR eqs. (42), (44), (47)).

    ``y`` is the latent of the preprocessed image (a posterior sample). Start (Algorithm 1,
    line 1): ``x = sqrt(ab_N) y + sigma_N eps`` at the last kept index ``N``. Step ``j -> j-1``
    with ``r = lam_{j-1}/lam_j``, ``g = sqrt(ab)(1 - eta)`` and the VP reading of eps,
    ``x0 = (x - sigma_j eps)/sqrt(ab_j)``::

        x' = (g_{j-1}/g_j) r^2 x
           + g_{j-1} (eta_{j-1}/(1-eta_{j-1}) - eta_j/(1-eta_j) r^2) y
           + g_{j-1} (1 - r^2) x0
           - g_{j-1} (lam_{j-1} - lam_j)^2 / lam_j D1                                  (order >= 2)
           + g_{j-1} ((lam_j - 3 lam_{j-1})(lam_j - lam_{j-1})/2 - lam_{j-1}^2 ln r) D2  (order 3)
           + g_{j-1} lam_{j-1} sqrt(1 - r^2) z

    ``D1 = (x0_j - x0_{j+1})/(lam_j - lam_{j+1})``, ``D2 = 2 (D1_j - D1_{j+1})/(lam_j - lam_{j+2})``;
    the first steps fall back to lower orders. One ``z`` is drawn every step, the last one
    (to ``t = 0``, which is not the clean data) included. Returns the final state.
    """
    check_dossr_order(order)
    n = len(schedule.timesteps) - 1
    eps0 = draw(y) if start_noise is None else start_noise.to(y)
    x = float(schedule.sqrt_alphas_cumprod[n]) * y + float(schedule.sigmas[n]) * eps0
    history: list[Tensor] = []  # x0 estimates, newest last
    old_d1: Tensor | None = None
    for i, j in enumerate(range(n, 0, -1)):
        t = int(schedule.timesteps[j])
        eps = eps_fn(x, t)
        x0 = dossr_x0(schedule, j, x, eps)
        history = (history + [x0])[-order:]
        x, old_d1 = dossr_update(schedule, j, x, y, history, old_d1, draw(x))
        if _report(on_step, i=i, total=n, t=t, index=j, eps=eps, x0_hat=x0, x=x):
            return x0
    return x


def dossr_x0(schedule: DoSSRSchedule, j: int, x: Tensor, eps: Tensor) -> Tensor:
    """The VP reading of eps at kept index ``j``: ``sqrt(1/ab) x - sqrt(1/ab - 1) eps``."""
    ab = schedule.alphas_cumprod[j]
    return float(np.sqrt(1.0 / ab)) * x - float(np.sqrt(1.0 / ab - 1.0)) * eps


def dossr_update(
    schedule: DoSSRSchedule, j: int, x: Tensor, y: Tensor, history: list[Tensor], old_d1: Tensor | None, z: Tensor
) -> tuple[Tensor, Tensor | None]:
    """One DoS-SDE step ``j -> j-1`` (see :func:`sample_dossr_official`) and its ``D1`` (None at order 1).

    ``history`` holds the x0 estimates at ``j`` (last) and up to two earlier steps; its
    length is the order used; ``old_d1`` is the previous step's ``D1`` (needed at order 3).
    """
    lam, g, eta = schedule.lambdas, schedule.g, schedule.etas
    x0 = history[-1]
    r = lam[j - 1] / lam[j]
    shift = eta[j - 1] / (1.0 - eta[j - 1]) - eta[j] / (1.0 - eta[j]) * r**2
    x_next = (
        float(g[j - 1] / g[j] * r**2) * x
        + float(g[j - 1] * shift) * y
        + float(g[j - 1] * (1.0 - r**2)) * x0
        + float(math.sqrt(lam[j - 1] ** 2 - lam[j - 1] ** 2 * r**2) * g[j - 1]) * z
    )
    if len(history) < 2:
        return x_next, None
    d1 = (x0 - history[-2]) / float(lam[j] - lam[j + 1])
    x_next = x_next - float(g[j - 1] * (lam[j - 1] - lam[j]) ** 2 / lam[j]) * d1
    if len(history) == 3 and old_d1 is not None:
        d2 = 2.0 * (d1 - old_d1) / float(lam[j] - lam[j + 2])
        x_next = x_next + float(_order3_weight(lam[j], lam[j - 1]) * g[j - 1]) * d2
    return x_next, d1


# --- CCSR v1 ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CCSRv1Plan:
    """45 respaced steps over 1000; the tau jump to ``round((n-1) t_max)``; steps down to ``round((n-1) t_min)``."""

    schedule: SpacedSchedule
    tau_index: int
    last_index: int

    @classmethod
    def official(cls, steps: int = 45, t_max: float = 0.6667, t_min: float = 0.3333) -> CCSRv1Plan:
        check_truncation(t_max, t_min)
        schedule = SpacedSchedule.at(sd_alphas_cumprod(), respaced(1000, steps))
        return cls(schedule, round((steps - 1) * t_max), round((steps - 1) * t_min))

    @property
    def nfe(self) -> int:
        return 1 + self.tau_index - self.last_index + 1


@torch.no_grad()
def sample_ccsr_v1(
    eps_fn: EpsFn, x_T: Tensor, plan: CCSRv1Plan, *, draw: Draw, on_step: OnStep | None = None, unused_draw: bool = True
) -> Tensor:
    """CCSR v1 (``sample_ccsr``): one evaluation at the last kept step, re-noise, ancestral steps, last x0.

    1. ``x0 = sqrt(1/ab) x_T - sqrt(1/ab - 1) eps`` at index ``n-1`` (t = 999);
    2. one unused standard-normal draw (``sample_ccsr`` makes it; the tiled ``sample_with_tile_ccsr``
       does not: ``unused_draw=False``), then ``x = sqrt(ab_tau) x0 + sqrt(1 - ab_tau) z`` at ``tau_index``;
    3. DDPM ancestral steps (Ho et al. 2020, eq. (7), fixed-small variance) at indices
       ``tau_index .. last_index``, one draw each (masked at index 0);
    4. the result is the **last x0 estimate**, not the state.
    """
    s = plan.schedule
    sqrt_recip, sqrt_recipm1 = s.sqrt_recip_alphas_cumprod, s.sqrt_recipm1_alphas_cumprod
    top = len(s.timesteps) - 1
    eps = eps_fn(x_T, int(s.timesteps[top]))
    x0 = float(sqrt_recip[top]) * x_T - float(sqrt_recipm1[top]) * eps
    if unused_draw:
        draw(x0)  # drawn and discarded by the official code
    k = plan.tau_index
    x = float(math.sqrt(s.alphas_cumprod[k])) * x0 + float(math.sqrt(1.0 - s.alphas_cumprod[k])) * draw(x0)
    if _report(on_step, i=0, total=plan.nfe, t=int(s.timesteps[top]), index=top, eps=eps, x0_hat=x0, x=x):
        return x0
    for i, k in enumerate(range(plan.tau_index, plan.last_index - 1, -1), start=1):
        eps = eps_fn(x, int(s.timesteps[k]))
        x0 = float(sqrt_recip[k]) * x - float(sqrt_recipm1[k]) * eps
        x = ancestral_step(s, k, x, x0, draw(x))
        if _report(on_step, i=i, total=plan.nfe, t=int(s.timesteps[k]), index=k, eps=eps, x0_hat=x0, x=x):
            break
    return x0


def ancestral_step(s: SpacedSchedule, k: int, x: Tensor, x0: Tensor, z: Tensor) -> Tensor:
    """DDPM posterior sample at kept index ``k`` (Ho et al. 2020, eq. (7); fixed-small variance, none at ``k = 0``)."""
    mean = float(s.posterior_mean_coef1[k]) * x0 + float(s.posterior_mean_coef2[k]) * x
    return mean + float(math.sqrt(s.posterior_variance[k]) if k > 0 else 0.0) * z


# --- CCSR v2 ----------------------------------------------------------------------------------
#: SD-2.1-base's scheduler config, read by ``DDPMScheduler`` as the official CCSR-v2 pipeline does.
SD21_BASE_SCHEDULER = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "clip_sample": False, "prediction_type": "epsilon", "steps_offset": 1, "timestep_spacing": "leading",
    "variance_type": "fixed_small",
}


def ccsr_v2_scheduler() -> DDPMScheduler:
    return DDPMScheduler(**SD21_BASE_SCHEDULER)


def x0_from_eps(scheduler: DDPMScheduler, x: Tensor, t: int, eps: Tensor) -> Tensor:
    """``(x - sqrt(1 - ab_t) eps) / sqrt(ab_t)`` with the scheduler's float32 ``alphas_cumprod``."""
    ab = scheduler.alphas_cumprod[t].to(x)
    return (x - (1.0 - ab) ** 0.5 * eps) / ab**0.5


@torch.no_grad()
def sample_ccsr_v2(
    eps_fn: Callable[[Tensor, int, bool], Tensor], c: Tensor, noise: Tensor, *, steps: int, t_max: float, t_min: float,
    draw: Draw, randint: Callable[[], Any], start_step: int = 999, on_step: OnStep | None = None,
) -> Tensor:
    """CCSR v2's pipeline (``start_point="lr"``), returning the last x0 estimate.

    ``c`` is the scaled VAE posterior sample of the control image (batch 2 under CFG, the
    first half used where there is no CFG); ``eps_fn(x, t, cfg)`` evaluates the networks.

    1. ``x = add_noise(c, noise, 999)``; the official code draws two ``randint(999, 1000)``;
    2. evaluate at 999 without CFG, ``x0`` from eps, re-noise to ``t_tau = ts[-round(N t_max)]``
       with a fresh draw (``ts``: DDPM "leading" timesteps with offset 1);
    3. for ``t`` in ``ts[-round(N t_max):][:-round(N t_min)]`` (Python slices: ``t_min = 0``
       keeps none), evaluate with CFG, take ``x0``, and step the DDPM scheduler (which draws
       its variance noise, unused when that step is the last);
    4. the result is the last ``x0``.
    """
    scheduler = ccsr_v2_scheduler()
    scheduler.set_timesteps(steps)
    ts = [int(t) for t in scheduler.timesteps]
    first = c[: noise.shape[0]]
    x = scheduler.add_noise(first, noise, torch.tensor([start_step]))
    randint()
    randint()
    eps = eps_fn(x, start_step, False)
    x0 = x0_from_eps(scheduler, x, start_step, eps)
    k_max, k_min = round(steps * t_max), round(steps * t_min)
    t_tau = ts[-k_max]
    x = scheduler.add_noise(x0, draw(x0), torch.tensor(t_tau))
    loop = ts[-k_max:][:-k_min]
    if _report(on_step, i=0, total=1 + len(loop), t=start_step, eps=eps, x0_hat=x0, x=x):
        return x0
    for i, t in enumerate(loop, start=1):
        eps = eps_fn(x, t, True)
        x0 = x0_from_eps(scheduler, x, t, eps)
        x = ddpm_step(scheduler, eps, t, x, draw)
        if _report(on_step, i=i, total=1 + len(loop), t=t, eps=eps, x0_hat=x0, x=x):
            break
    return x0


def ddpm_step(scheduler: DDPMScheduler, eps: Tensor, t: int, x: Tensor, draw: Draw) -> Tensor:
    """One ``DDPMScheduler.step`` (fixed-small variance, no clipping) with its noise from ``draw``.

    DDPM eq. (7) between ``t`` and the scheduler's previous timestep; like diffusers, the
    noise is drawn only when ``t > 0``.
    """
    prev = int(scheduler.previous_timestep(t))
    ab_t = scheduler.alphas_cumprod[t].to(x)
    ab_prev = scheduler.alphas_cumprod[prev].to(x) if prev >= 0 else scheduler.one.to(x)
    alpha_t, beta_prod_t, beta_prod_prev = ab_t / ab_prev, 1.0 - ab_t, 1.0 - ab_prev
    beta_t = 1.0 - alpha_t
    x0 = (x - beta_prod_t**0.5 * eps) / ab_t**0.5
    mean = (ab_prev**0.5 * beta_t / beta_prod_t) * x0 + (alpha_t**0.5 * beta_prod_prev / beta_prod_t) * x
    if t <= 0:
        return mean
    variance = (beta_prod_prev / beta_prod_t * beta_t).clamp(min=1e-20)
    return mean + variance**0.5 * draw(x)
