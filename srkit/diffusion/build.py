"""Recipe configs -> engine objects: the one place the diffusion option strings are resolved.

Takes the frozen dataclasses of :mod:`srkit.recipes` (``ProcessConfig``,
``ObjectiveConfig``, ``SamplerConfig``). A sampler is resolved from the torch-free
catalogue (:mod:`srkit.sampler_catalogue`) and checked here, once per run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.objectives import (
    DreamObjective,
    NutlObjective,
    Objective,
    PerceptualLoss,
    RegressionObjective,
    RolloutObjective,
)
from srkit.diffusion.processes import (
    DiffusionProcess,
    DoSSRProcess,
    ResShiftProcess,
    VPProcess,
)
from srkit.diffusion.samplers.common import SampleResult, StepCallback
from srkit.diffusion.schedules import make_betas
from srkit.errors import UsageError
from srkit.recipes import ObjectiveConfig, ProcessConfig, SamplerConfig
from srkit.sampler_catalogue import (
    CATALOGUE,
    SamplerEntry,
    one_of,
    sampler_cli_name,
    sampler_entry,
    sampler_names_text,
    samplers_for,
)


def build_process(cfg: ProcessConfig) -> DiffusionProcess:
    """The forward process of a recipe (``kind``: ``vp``, ``resshift`` or ``dossr``)."""
    if cfg.kind == "vp":
        return VPProcess(make_betas(cfg.beta_schedule, cfg.T, cfg.beta_start, cfg.beta_end))
    if cfg.kind == "resshift":
        return ResShiftProcess(cfg.T, cfg.kappa, cfg.power, cfg.min_noise_level, cfg.eta_T, eta_1_rule=cfg.eta_1_rule)
    if cfg.kind == "dossr":
        return DoSSRProcess(make_betas(cfg.beta_schedule, cfg.T, cfg.beta_start, cfg.beta_end), cfg.t1,
                            train_below_t1=cfg.train_below_t1)
    raise UsageError(f"unknown process kind {cfg.kind!r}; choose vp, resshift or dossr")


def build_objective(
    cfg: ObjectiveConfig, process: DiffusionProcess, perceptual: PerceptualLoss | None = None,
    sampler: BoundSampler | None = None,
) -> Objective:
    """Regression, DREAM (``dream_p`` set and finite) or CCSR NUTL (``nutl``), checked against ``process``.

    ``perceptual``: the distance ``cfg.perceptual`` names (the caller builds it: the
    engine knows no metric networks), added to the regression loss with ``cfg.perceptual_weight``.
    ``rollout_p > 0`` wraps that objective in :class:`RolloutObjective` on ``sampler``
    (the recipe's, bound), which then trains that fraction of batches on its own states.
    """
    dream = cfg.dream_p is not None and not math.isinf(cfg.dream_p)
    if cfg.perceptual != "none":
        if cfg.nutl:
            raise UsageError("a perceptual loss term is available with the regression and DREAM objectives, not with nutl")
        if perceptual is None:
            raise UsageError(f"objective.perceptual '{cfg.perceptual}' needs its distance network")
    if cfg.nutl:
        if dream:
            raise UsageError("choose either DREAM (dream_p) or CCSR non-uniform timestep learning (nutl), not both")
        if process.kind != "vp":
            raise UsageError(f"nutl (CCSR) needs the vp process, not {process.kind!r}")
        if cfg.rollout_p > 0:
            raise UsageError("roll-out training (rollout_p) works with the regression and DREAM objectives, not with nutl")
        return NutlObjective(cfg.prediction, cfg.loss, cfg.nutl_t_max)
    extra = (perceptual, cfg.perceptual_weight) if cfg.perceptual != "none" else ()
    base: Objective = (DreamObjective(float(cfg.dream_p), cfg.prediction, cfg.loss, *extra) if dream  # type: ignore[arg-type]
                       else RegressionObjective(cfg.prediction, cfg.loss, *extra))
    if cfg.rollout_p == 0:
        return base
    if cfg.prediction != "x0":
        raise UsageError(f"roll-out training (rollout_p) needs an x0 network (objective.prediction: x0), not {cfg.prediction}")
    if sampler is None:
        raise UsageError("roll-out training (rollout_p) needs the recipe's sampler")
    return RolloutObjective(base, sampler, cfg.rollout_p, cfg.loss, *extra)


@dataclass(frozen=True)
class BoundSampler:
    """A sampler with its settings bound and checked: ``sampler(denoiser, process, y, noise=, generator=, callback=)``.

    Built once per run by :func:`build_sampler` and passed down to the loop; ``config``
    is the recipe section it was built from (for reports and BC identities).
    """

    spec: SamplerEntry
    options: dict[str, Any] = field(default_factory=dict)
    config: SamplerConfig | None = None

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
        return self.spec.fn(denoiser, process, y, noise=noise, generator=generator, callback=callback, **self.options)


def build_sampler(cfg: SamplerConfig, process: DiffusionProcess | str | None = None) -> BoundSampler:
    """Bind and check a recipe's sampler once per run: refuse settings it does not use, or a process it cannot walk.

    ``process`` (a process or its kind) is checked against the catalogue row; the
    error names the samplers that fit it.
    """
    spec = sampler_entry(cfg.kind)
    kind = process if isinstance(process, str) or process is None else process.kind
    if kind is not None and kind not in spec.processes:
        raise UsageError(
            f"sampler '{spec.cli_name}' does not fit the {kind} process of this recipe; "
            f"use {one_of([sampler_cli_name(n) for n in samplers_for(kind)])}"
        )
    for option, given, applies in (
        ("order", cfg.order != 1, "order"),
        ("eta", cfg.eta != 0.0, "eta"),
        ("sections", cfg.sections is not None, "sections"),
        ("spacing", cfg.spacing != "default", "spacing"),
    ):
        if given and applies not in spec.options:
            users = sampler_names_text([n for n, e in CATALOGUE.items() if option in e.options])
            raise UsageError(f"sampler '{spec.cli_name}' has no {option} setting; {option} applies to {users}")
    if cfg.order not in spec.orders:
        raise UsageError(f"sampler '{spec.cli_name}' supports orders {', '.join(map(str, spec.orders))}, got {cfg.order}")
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
    return BoundSampler(spec, {name: settings[name] for name in spec.options if name in settings}, cfg)
