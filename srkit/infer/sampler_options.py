"""Command-line sampler choices -> a validated :class:`~srkit.recipes.SamplerConfig`.

CLI names use dashes (``dpm-solver``, ``dos-sde``); recipes use underscores.
When ``--sampler`` switches to another sampler, settings the new one does not
take are reset (order 1, eta 0, no sections) unless given explicitly, so e.g.
``--method dossr --sampler ...`` never inherits DoS-SDE's order 3 by accident.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from srkit.diffusion.samplers.timesteps import SPACINGS
from srkit.errors import RecipeError, UsageError
from srkit.recipes import SamplerConfig, sampler_cli_name

SAMPLER_NAMES = ("ddpm", "ddim", "dpm_solver", "resshift", "dos_sde", "ccsr")


def sampler_kind(name: str) -> str:
    """``dpm-solver`` -> ``dpm_solver``; a UsageError lists the choices for an unknown name."""
    kind = name.strip().lower().replace("-", "_")
    if kind not in SAMPLER_NAMES:
        raise UsageError(f"unknown sampler '{name}'; choose one of {', '.join(sampler_cli_name(n) for n in SAMPLER_NAMES)}")
    return kind


def _check_values(steps: int | None, order: int | None, eta: float | None) -> None:
    if steps is not None and steps < 1:
        raise UsageError(f"--steps must be >= 1, got {steps}")
    if order is not None and order not in (1, 2, 3):
        raise UsageError(f"--order must be 1, 2 or 3, got {order}")
    if eta is not None and not 0.0 <= eta <= 1.0:
        raise UsageError(f"--eta must lie in [0, 1], got {eta}")


def sampler_config(
    base: SamplerConfig,
    *,
    sampler: str | None = None,
    steps: int | None = None,
    order: int | None = None,
    eta: float | None = None,
    t_max: float | None = None,
    t_min: float | None = None,
    spacing: str | None = None,
) -> SamplerConfig:
    """``base`` with the given command-line overrides applied and validated (``spacing``: ddim and dpm-solver)."""
    _check_values(steps, order, eta)
    if spacing is not None and spacing not in SPACINGS:
        raise UsageError(f"--spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")
    cfg = base
    if sampler is not None and sampler_kind(sampler) != base.kind:
        cfg = SamplerConfig(kind=sampler_kind(sampler), steps=base.steps, t_max=base.t_max, t_min=base.t_min, clip_x0=base.clip_x0)  # type: ignore[arg-type]
    given: dict[str, Any] = {"steps": steps, "order": order, "eta": eta, "t_max": t_max, "t_min": t_min, "spacing": spacing}
    changes = {key: value for key, value in given.items() if value is not None}
    if steps is not None:
        changes["sections"] = None
    try:
        return replace(cfg, **changes)
    except RecipeError as err:
        raise UsageError(f"sampler settings: {err}") from None
