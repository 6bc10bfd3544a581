"""Samplers: one plain function per file, ``sample_x(denoiser, process, y, *, ..., noise, generator, callback)``.

Each returns a :class:`SampleResult` (``x0``, exact ``nfe``). What each sampler
supports is one row of the torch-free catalogue :data:`srkit.sampler_catalogue.CATALOGUE`
(re-exported here as ``SAMPLERS``); the callback protocol is in
:mod:`srkit.diffusion.samplers.common`.
"""

from __future__ import annotations


from srkit.diffusion.samplers.ccsr import sample_ccsr
from srkit.diffusion.samplers.common import SampleResult, StepCallback
from srkit.diffusion.samplers.ddim import sample_ddim
from srkit.diffusion.samplers.ddpm import sample_ddpm
from srkit.diffusion.samplers.dos_sde import sample_dos_sde
from srkit.diffusion.samplers.dpm_solver import sample_dpm_solver
from srkit.diffusion.samplers.resshift import sample_resshift
from srkit.sampler_catalogue import CATALOGUE as SAMPLERS
from srkit.sampler_catalogue import SamplerEntry as SamplerSpec
from srkit.sampler_catalogue import sampler_entry as get_sampler
from srkit.sampler_catalogue import samplers_for

__all__ = [
    "SAMPLERS",
    "SampleResult",
    "SamplerSpec",
    "StepCallback",
    "get_sampler",
    "samplers_for",
    "sample_ccsr",
    "sample_ddim",
    "sample_ddpm",
    "sample_dos_sde",
    "sample_dpm_solver",
    "sample_resshift",
]
