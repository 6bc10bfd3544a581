"""A toy sampler for the catalogue test: the whole of what adding a sampler takes is this file plus one catalogue row.

``sample_toy``: at ``steps`` evenly spaced indices from ``T - 1`` down, estimate x0 and
move deterministically to the next index with the estimated noise (DDIM with eta = 0,
written without its options), then return the last clean estimate. NFE = ``steps``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.diffusion.samplers.common import Run, SampleResult, StepCallback, start_state, timestep
from srkit.diffusion.samplers.timesteps import uniform_timesteps


@torch.no_grad()
def sample_toy(
    denoiser: Denoiser,
    process: DiffusionProcess,
    y: Tensor,
    *,
    steps: int,
    noise: Tensor | None = None,
    generator: Noise | None = None,
    callback: StepCallback | None = None,
    clip_x0: bool = True,
) -> SampleResult:
    timesteps = uniform_timesteps(process.T, steps)
    run = Run(denoiser, len(timesteps), generator, callback)
    x = start_state(process, y, noise, run.generator)
    out = None
    for i, (t, s) in enumerate(zip(timesteps, timesteps[1:] + [-1])):
        out = denoiser(x, y, timestep(t, x), clip_x0=clip_x0)
        nxt = process.coef(s)
        x = nxt.c_x0 * out.x0 + nxt.c_eps * out.eps
        if run.step_done(i, t, x, out.x0):
            return run.result(out.x0, stopped=True)
    return run.result(x)
