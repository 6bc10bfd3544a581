"""DDPM ancestral sampling with respacing (Ho et al. 2020, Algorithm 2; Nichol & Dhariwal 2021, §4)."""

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
from srkit.diffusion.samplers.timesteps import (
    parse_sections,
    spaced_timesteps,
    uniform_timesteps,
)
from srkit.errors import UsageError


@torch.no_grad()
def sample_ddpm(
    denoiser: Denoiser,
    process: DiffusionProcess,
    y: Tensor,
    *,
    steps: int | None = None,
    sections: str | None = None,
    noise: Tensor | None = None,
    generator: Noise | None = None,
    callback: StepCallback | None = None,
    clip_x0: bool = True,
) -> SampleResult:
    """Ancestral DDPM sampling of a VP model over a respaced subset of its timesteps.

    ``steps=N`` keeps ``N`` evenly spaced indices (``T`` = the full chain); ``sections``
    such as ``"45,20,15,10,10"`` keeps that many per equal part of ``[0, T)``
    (improved DDPM). Between kept indices ``s < t`` the posterior uses
    ``beta' = 1 - ab_t / ab_s`` (METHODS.md §1), which keeps the original marginals.
    NFE = number of kept indices.
    """
    check_process("ddpm", process, ("vp",))
    if sections is not None:
        counts = parse_sections(sections)
        if steps is not None and steps != sum(counts):
            raise UsageError(f"sections {sections!r} make {sum(counts)} steps, but steps={steps}; give one of them")
        timesteps = spaced_timesteps(process.T, counts)
    elif steps is not None:
        timesteps = uniform_timesteps(process.T, steps)
    else:
        raise UsageError("DDPM sampling needs steps=N or sections='45,20,15,10,10'")
    run = Run(denoiser, len(timesteps), generator, callback)
    x = start_state(process, y, noise, run.generator)
    return ancestral_chain(run, process, x, y, timesteps, clip_x0=clip_x0)
