"""ResShift reverse chain (Yue et al. 2023, eq. (7)-(8), Algorithm 2)."""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.diffusion.samplers.ancestral import ancestral_chain
from srkit.diffusion.samplers.common import (
    Run,
    SampleResult,
    StepCallback,
    check_process,
    start_state,
)
from srkit.diffusion.samplers.timesteps import uniform_timesteps


@torch.no_grad()
def sample_resshift(
    denoiser: Denoiser,
    process: DiffusionProcess,
    y: Tensor,
    *,
    steps: int | None = None,
    noise: Tensor | None = None,
    generator: Noise | None = None,
    callback: StepCallback | None = None,
    clip_x0: bool = True,
) -> SampleResult:
    """Sample ResShift from ``x_T = y + kappa sqrt(eta_T) eps`` down the posterior of eq. (7).

    ``steps`` defaults to ``T`` (the paper: 15 steps = 15 network calls); fewer steps keep
    evenly spaced indices, valid because the posterior holds between any two indices.
    Set ``clip_x0=False`` in latent space. NFE = ``steps``.
    """
    check_process("resshift", process, ("resshift",))
    timesteps = uniform_timesteps(process.T, process.T if steps is None else steps)
    run = Run(denoiser, len(timesteps), generator, callback)
    x = start_state(process, y, noise, run.generator)
    return ancestral_chain(run, process, x, y, timesteps, clip_x0=clip_x0)
