"""DoS-SDE solvers of order 1-3 (DoSSR, Cui et al. 2024, eq. (12), Appendix A.6 and Algorithms 1-3)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise, randn_like
from srkit.diffusion.processes.base import AffineCoefs, DiffusionProcess
from srkit.diffusion.samplers.common import (
    Run,
    SampleResult,
    StepCallback,
    check_order,
    check_process,
    start_state,
    timestep,
)
from srkit.diffusion.samplers.timesteps import trailing_timesteps

ORDERS = (1, 2, 3)


def _lam(c: AffineCoefs) -> float:
    """``lambda_t = s_t / (a_t (1 - eta_t))`` = ``c_eps / c_x0``; 0 at the clean data."""
    return c.c_eps / c.c_x0


def _shift_ratio(c: AffineCoefs) -> float:
    """``eta_t / (1 - eta_t)`` = ``c_y / c_x0``."""
    return c.c_y / c.c_x0


def _order3_weight(lam_s: float, lam_t: float) -> float:
    """The weight of ``D2`` in eq. (46)-(47): ``(lam_s - 3 lam_t)(lam_s - lam_t)/2 - lam_t^2 ln(lam_t/lam_s)``.

    The log term tends to 0 as ``lam_t -> 0`` (the clean data) and is taken as 0 there.
    """
    log_term = lam_t * lam_t * math.log(lam_t / lam_s) if lam_t > 0.0 else 0.0
    return (lam_s - 3.0 * lam_t) * (lam_s - lam_t) / 2.0 - log_term


@torch.no_grad()
def sample_dos_sde(
    denoiser: Denoiser,
    process: DiffusionProcess,
    y: Tensor,
    *,
    steps: int = 5,
    order: int = 3,
    noise: Tensor | None = None,
    generator: Noise | None = None,
    callback: StepCallback | None = None,
    clip_x0: bool = True,
) -> SampleResult:
    """Solve the DoSSR reverse SDE from its start below ``t1`` to the clean data in ``steps`` calls.

    With ``g_t = a_t (1 - eta_t)`` and ``lam_t = s_t / g_t``, a step from ``s`` to ``t < s``
    (DoSSR eq. (42), (44), (47))::

        x_t = (g_t/g_s)(lam_t^2/lam_s^2) x_s
            + g_t (eta_t/(1-eta_t) - eta_s/(1-eta_s) lam_t^2/lam_s^2) y          # domain-shift guidance
            + g_t (1 - lam_t^2/lam_s^2) x_theta(x_s)
            - g_t ((lam_t - lam_s)^2 / lam_s) D1                                  # order >= 2
            + g_t ((lam_s - 3 lam_t)(lam_s - lam_t)/2 - lam_t^2 ln(lam_t/lam_s)) D2  # order 3
            + g_t sqrt(lam_t^2 - lam_t^4/lam_s^2) z

    ``D1`` and ``D2`` are backward differences of ``x_theta`` over ``lam`` (eqs. (45), (48)-(49));
    the first steps use lower orders until enough estimates exist. The noise term
    multiplies ``z ~ N(0, I)``: Algorithms 1-3 print ``x0_hat`` there, a typo.

    Timesteps: ``steps`` indices from :attr:`~DoSSRProcess.start_index` (``eta < 1``, never
    ``eta = 1`` where ``x_theta`` is singular for eps-networks), evenly spaced in the paper's
    time down to the clean data (``lam = 0``), which the last step reaches at full order.
    Paper default: order 3, 5 steps. NFE = ``steps``; 1 step returns ``x_theta`` at the start.
    """
    check_process("dos_sde", process, ("dossr",))
    check_order("dos_sde", order, ORDERS)
    timesteps = trailing_timesteps(process.start_index, steps)
    run = Run(denoiser, len(timesteps), generator, callback)
    x = start_state(process, y, noise, run.generator)
    estimates: list[tuple[float, Tensor]] = []  # (lam, x_theta), newest last
    previous_slope: Tensor | None = None  # D1 of the previous step
    for i, (s, t) in enumerate(zip(timesteps, timesteps[1:] + [-1])):
        out = denoiser(x, y, timestep(s, x), clip_x0=clip_x0)
        now, nxt = process.coef(s), process.coef(t)
        lam_s, lam_t, g_t = _lam(now), _lam(nxt), nxt.c_x0
        ratio = (lam_t / lam_s) ** 2
        estimates = (estimates + [(lam_s, out.x0)])[-3:]
        x_next = (
            (g_t / now.c_x0 * ratio) * x
            + g_t * (_shift_ratio(nxt) - _shift_ratio(now) * ratio) * y
            + g_t * (1.0 - ratio) * out.x0
        )
        use = min(order, len(estimates))
        if use >= 2:
            lam_r, x_r = estimates[-2]
            slope = (out.x0 - x_r) / (lam_s - lam_r)
            x_next = x_next - (g_t * (lam_t - lam_s) ** 2 / lam_s) * slope
            if use == 3 and previous_slope is not None:
                lam_q = estimates[-3][0]
                curvature = (slope - previous_slope) / ((lam_s - lam_q) / 2.0)
                x_next = x_next + (g_t * _order3_weight(lam_s, lam_t)) * curvature
            previous_slope = slope
        noise_std = g_t * lam_t * math.sqrt(max(1.0 - ratio, 0.0))
        x = x_next + noise_std * randn_like(x, run.generator) if noise_std > 0.0 else x_next
        if run.step_done(i, s, x, out.x0):
            return run.result(out.x0, stopped=True)
    return run.result(x)
