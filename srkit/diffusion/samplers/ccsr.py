"""CCSR truncated non-uniform sampling (Sun et al., CCSR §3.2 and Fig. 3; METHODS.md §5)."""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise, randn_like
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.diffusion.samplers.ancestral import ancestral_chain
from srkit.diffusion.samplers.common import (
    Run,
    SampleResult,
    StepCallback,
    check_process,
    start_state,
    timestep,
)
from srkit.diffusion.samplers.timesteps import fraction_to_index, linspace_timesteps
from srkit.errors import UsageError


@torch.no_grad()
def sample_ccsr(
    denoiser: Denoiser,
    process: DiffusionProcess,
    y: Tensor,
    *,
    steps: int = 15,
    t_max: float = 2.0 / 3.0,
    t_min: float = 1.0 / 3.0,
    noise: Tensor | None = None,
    generator: Noise | None = None,
    callback: StepCallback | None = None,
    clip_x0: bool = True,
) -> SampleResult:
    """One jump ``T -> t_max``, ``steps`` ancestral steps from ``t_max`` to ``t_min``, then stop.

    1. evaluate at ``t = T`` (index ``T - 1``) from ``x_T ~ N(0, I)`` and get ``x0_T``;
    2. re-noise it to ``t_max``: ``x_tmax = sqrt(ab_tmax) x0_T + sqrt(1 - ab_tmax) eps`` (fresh eps);
    3. evaluate at ``steps`` evenly spaced indices from ``t_max`` down to ``t_min`` (both
       included), moving between them with the DDPM posterior;
    4. return the data estimate at ``t_min`` (the chain is truncated there).

    ``t_max``/``t_min`` are fractions of ``T`` (paper: 2/3 and 1/3, 15 steps), mapped to
    indices as NUTL training does. NFE = ``1 + steps`` (the jump's evaluation plus one per step).
    """
    check_process("ccsr", process, ("vp",))
    if not 0.0 < t_min < t_max <= 1.0:
        raise UsageError(f"CCSR needs 0 < t_min < t_max <= 1 (fractions of T), got t_min={t_min}, t_max={t_max}")
    i_max, i_min = fraction_to_index(t_max, process.T), fraction_to_index(t_min, process.T)
    if i_max >= process.T - 1 or i_min >= i_max:
        raise UsageError(f"T={process.T} is too short for CCSR with t_max={t_max:.3g}, t_min={t_min:.3g}")
    timesteps = linspace_timesteps(i_max, i_min, steps)
    run = Run(denoiser, 1 + steps, generator, callback)
    x_T = start_state(process, y, noise, run.generator)
    out = denoiser(x_T, y, timestep(process.T - 1, x_T), clip_x0=clip_x0)
    x = process.q_sample(out.x0, y, randn_like(x_T, run.generator), timestep(i_max, x_T))
    if run.step_done(0, process.T - 1, x, out.x0):
        return run.result(out.x0, stopped=True)
    return ancestral_chain(run, process, x, y, timesteps, clip_x0=clip_x0, first_step=1)
