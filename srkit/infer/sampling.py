"""The bridge from an :class:`~srkit.infer.model.SRModel` to the engine's samplers.

:func:`bound_sampler` binds the recipe's sampler settings with
``srkit.diffusion.build.build_sampler`` (which refuses options a sampler does
not take) and refuses a sampler that does not fit the model's process, with
the samplers that do. :func:`run_sampler` makes one sampling call through a
counting ``Denoiser``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from torch import Tensor

from srkit.errors import UsageError
from srkit.recipes import SamplerConfig, sampler_cli_name

if TYPE_CHECKING:
    from srkit.diffusion.build import BoundSampler
    from srkit.diffusion.noise import Noise
    from srkit.infer.model import SRModel


def bound_sampler(cfg: SamplerConfig, process_kind: str) -> "BoundSampler":
    """``cfg`` bound for the engine; a UsageError if it does not fit ``process_kind``."""
    from srkit.diffusion.build import build_sampler
    from srkit.diffusion.samplers import samplers_for

    sampler = build_sampler(cfg)
    if process_kind not in sampler.spec.processes:
        fitting = [sampler_cli_name(name) for name in samplers_for(process_kind)]
        raise UsageError(
            f"sampler '{sampler_cli_name(cfg.kind)}' does not fit the {process_kind} process of this recipe; "
            f"use {_one_of(fitting)}"
        )
    return sampler


def _one_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def is_deterministic(cfg: SamplerConfig) -> bool:
    """Whether ``cfg`` maps a start noise to one output (DDIM with eta=0, DPM-Solver++)."""
    from srkit.diffusion.samplers import get_sampler

    return get_sampler(cfg.kind).is_deterministic(cfg.eta)


def run_sampler(
    model: "SRModel",
    cfg: SamplerConfig,
    y: Tensor,
    *,
    noise: Tensor | None,
    generator: "Noise | None",
    callback: Callable[[Any], Any] | None,
) -> tuple[Tensor, int]:
    """Sample x0 (state space) for the condition ``y`` with ``cfg``; returns ``(x0, nfe)``."""
    from srkit.diffusion.denoiser import Denoiser

    sampler = bound_sampler(cfg, model.process.kind)
    denoiser = Denoiser(model.net, model.process, model.recipe.objective.prediction)
    result = sampler(denoiser, model.process, y, noise=noise, generator=generator, callback=callback)
    return result.x0, int(result.nfe)
