"""Recipe configs -> engine objects: the one place the diffusion option strings are resolved.

Takes the frozen dataclasses of :mod:`srkit.recipes` (``ProcessConfig``,
``ObjectiveConfig``, ``SamplerConfig``); only their fields are read, so any object
with those attributes works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
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
from srkit.diffusion.samplers import (
    SampleResult,
    SamplerSpec,
    StepCallback,
    get_sampler,
)
from srkit.diffusion.schedules import make_betas
from srkit.errors import UsageError

if TYPE_CHECKING:
    from srkit.recipes import ObjectiveConfig, ProcessConfig, SamplerConfig


def build_process(cfg: ProcessConfig) -> DiffusionProcess:
    """The forward process of a recipe (``kind``: ``vp``, ``resshift`` or ``dossr``)."""
    if cfg.kind == "vp":
        return VPProcess(make_betas(cfg.beta_schedule, cfg.T, cfg.beta_start, cfg.beta_end))
    if cfg.kind == "resshift":
        return ResShiftProcess(cfg.T, cfg.kappa, cfg.power, cfg.min_noise_level, cfg.eta_T, eta_1_rule=cfg.eta_1_rule)
    if cfg.kind == "dossr":
        return DoSSRProcess(make_betas(cfg.beta_schedule, cfg.T, cfg.beta_start, cfg.beta_end), cfg.t1)
    raise UsageError(f"unknown process kind {cfg.kind!r}; choose vp, resshift or dossr")


def build_objective(cfg: ObjectiveConfig, process: DiffusionProcess) -> Objective:
    """Regression, DREAM (``dream_p`` set and finite) or CCSR NUTL (``nutl``), checked against ``process``."""
    dream = cfg.dream_p is not None and not math.isinf(cfg.dream_p)
    if cfg.nutl:
        if dream:
            raise UsageError("choose either DREAM (dream_p) or CCSR non-uniform timestep learning (nutl), not both")
        if process.kind != "vp":
            raise UsageError(f"nutl (CCSR) needs the vp process, not {process.kind!r}")
        return NutlObjective(cfg.prediction, cfg.loss, cfg.nutl_t_max)
    if dream:
        return DreamObjective(float(cfg.dream_p), cfg.prediction, cfg.loss)
    return RegressionObjective(cfg.prediction, cfg.loss)


@dataclass(frozen=True)
class BoundSampler:
    """A sampler with its recipe settings bound: ``sampler(denoiser, process, y, noise=, generator=, callback=)``."""

    spec: SamplerSpec
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def deterministic(self) -> bool:
        """Whether the output depends only on the starting noise (find-bc needs this)."""
        return self.spec.is_deterministic(self.options.get("eta", 0.0))

    def __call__(
        self,
        denoiser: Denoiser,
        process: DiffusionProcess,
        y: Tensor,
        *,
        noise: Tensor | None = None,
        generator: torch.Generator | None = None,
        callback: StepCallback | None = None,
    ) -> SampleResult:
        return self.spec.fn(
            denoiser, process, y, noise=noise, generator=generator, callback=callback, **self.options
        )


def build_sampler(cfg: SamplerConfig) -> BoundSampler:
    """Bind a recipe's sampler settings, refusing settings the chosen sampler does not use."""
    spec = get_sampler(cfg.kind)
    if cfg.order != 1 and "order" not in spec.options:
        raise UsageError(f"sampler {cfg.kind!r} has no order setting; order applies to dpm_solver and dos_sde")
    if cfg.order not in spec.orders:
        raise UsageError(f"sampler {cfg.kind!r} supports orders {spec.orders}, got {cfg.order}")
    if cfg.eta != 0.0 and "eta" not in spec.options:
        raise UsageError(f"sampler {cfg.kind!r} has no eta setting; eta applies to ddim")
    if cfg.sections is not None and "sections" not in spec.options:
        raise UsageError(f"sampler {cfg.kind!r} takes no sections; sections apply to ddpm")
    if cfg.spacing != "default" and "spacing" not in spec.options:
        raise UsageError(f"sampler {cfg.kind!r} has no spacing setting; spacing applies to ddim and dpm_solver")
    settings = {
        "steps": None if cfg.sections is not None else cfg.steps,
        "sections": cfg.sections,
        "order": cfg.order,
        "eta": cfg.eta,
        "t_max": cfg.t_max,
        "t_min": cfg.t_min,
        "clip_x0": cfg.clip_x0,
    }
    if cfg.spacing != "default":
        settings["spacing"] = cfg.spacing
    return BoundSampler(spec, {name: settings[name] for name in spec.options if name in settings})
