"""The diffusion engine: forward processes, objectives, samplers (network-agnostic, METHODS.md).

Four kinds of parts with small interfaces (a recipe picks one of each):

- processes (:mod:`.processes`): ``q_sample``, eps <-> x0 conversions, posteriors;
- the :class:`Denoiser`: the one place a network is called (input scaling, NFE count);
- objectives (:mod:`.objectives`): ``(net, process, x0, y, generator) -> (loss, logs)``;
- samplers (:mod:`.samplers`): ``sample_x(denoiser, process, y, *, ...) -> SampleResult``.

:mod:`.build` turns recipe configs into these objects.
"""

from srkit.diffusion.build import (
    BoundSampler,
    build_objective,
    build_process,
    build_sampler,
)
from srkit.diffusion.denoiser import Denoiser, DenoiserOutput
from srkit.diffusion.objectives import (
    DreamObjective,
    NutlObjective,
    Objective,
    RegressionObjective,
)
from srkit.diffusion.processes import (
    DiffusionProcess,
    DoSSRProcess,
    ResShiftProcess,
    VPProcess,
)
from srkit.diffusion.samplers import SAMPLERS, SampleResult, SamplerSpec, get_sampler

__all__ = [
    "SAMPLERS",
    "BoundSampler",
    "Denoiser",
    "DenoiserOutput",
    "DiffusionProcess",
    "DoSSRProcess",
    "DreamObjective",
    "NutlObjective",
    "Objective",
    "RegressionObjective",
    "ResShiftProcess",
    "SampleResult",
    "SamplerSpec",
    "VPProcess",
    "build_objective",
    "build_process",
    "build_sampler",
    "get_sampler",
]
