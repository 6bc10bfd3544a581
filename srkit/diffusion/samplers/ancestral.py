"""Ancestral sampling along a process's own posterior; shared by the DDPM, ResShift and CCSR samplers."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from srkit.diffusion.noise import randn_like
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.diffusion.samplers.common import Run, SampleResult, timestep


def ancestral_chain(
    run: Run,
    process: DiffusionProcess,
    x: Tensor,
    y: Tensor,
    timesteps: Sequence[int],
    *,
    clip_x0: bool,
    first_step: int = 0,
) -> SampleResult:
    """Walk ``x`` (the state at ``timesteps[0]``) down the descending ``timesteps`` to the clean data.

    Each step evaluates the network at ``t`` and draws ``x_s ~ q(x_s | x_t, x0_hat)`` with
    ``s`` the next kept index (DDPM Algorithm 2, respaced as improved DDPM §4; ResShift
    Algorithm 2). After the last index ``s = -1``: the posterior collapses to ``x0_hat``,
    so the result is the final data estimate. ``first_step`` offsets the callback's ``i``.
    """
    targets = list(timesteps[1:]) + [-1]
    for k, (t, s) in enumerate(zip(timesteps, targets)):
        t_batch = timestep(t, x)
        out = run.denoiser(x, y, t_batch, clip_x0=clip_x0)
        mean, variance = process.q_posterior_mean_variance(out.x0, x, t_batch, timestep(s, x))
        x = mean if s < 0 else mean + variance.sqrt() * randn_like(x, run.generator)
        if run.step_done(first_step + k, t, x, out.x0):
            return run.result(out.x0, stopped=True)
    return run.result(x)
