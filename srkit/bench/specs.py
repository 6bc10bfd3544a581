"""``--methods`` rows: ``METHOD[:STEPS[:SAMPLER[:ORDER]]]`` -> :class:`MethodSpec` -> a :class:`SamplerConfig`.

Examples: ``dossr:5`` (DoSSR's own DoS-SDE sampler, 5 steps), ``sr3:50:ddim``,
``sr3:20:dpm-solver:2``, ``resshift`` (the recipe's sampler and steps), ``sr3+bc``
(a deterministic sampler started from the method's built-in optimal boundary condition). Sampler
names are spelled as on the command line (``dpm-solver``, ``dos-sde``); the
method is a built-in recipe name. Torch-free: the CLI validates rows before it
loads any model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from srkit.errors import RecipeError, UsageError
from srkit.recipes import SamplerConfig
from srkit.sampler_catalogue import sampler_entry

SPEC_FORMAT = "METHOD[:STEPS[:SAMPLER[:ORDER]]][+bc], e.g. dossr:5, sr3:20:dpm-solver:2 or sr3+bc"
BC_SUFFIX = "+bc"


@dataclass(frozen=True)
class MethodSpec:
    """One benchmark row as typed: the method (recipe name) and optional sampler overrides."""

    method: str
    steps: int | None = None
    sampler: str | None = None
    order: int | None = None
    text: str = ""
    bc: bool = False  # start from the built-in boundary condition

    @property
    def label(self) -> str:
        """The row's name in tables: the spec as typed (``dossr:5``), or the method alone."""
        return self.text or self.method


def _positive_int(value: str, what: str, text: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"--methods '{text}': {what} must be a positive integer, got '{value}' (format {SPEC_FORMAT})")
    return int(value)


def parse_method_spec(text: str) -> MethodSpec:
    """Parse one ``METHOD[:STEPS[:SAMPLER[:ORDER]]][+bc]``; a one-line UsageError for anything else."""
    text = text.strip()
    bc = text.endswith(BC_SUFFIX)
    parts = text.removesuffix(BC_SUFFIX).split(":")
    if not text or len(parts) > 4 or not parts[0] or any(not p for p in parts[1:]):
        raise UsageError(f"--methods '{text}' is not a row spec: use {SPEC_FORMAT}")
    steps = _positive_int(parts[1], "STEPS", text) if len(parts) > 1 else None
    sampler = sampler_entry(parts[2]).name if len(parts) > 2 else None
    order = _positive_int(parts[3], "ORDER", text) if len(parts) > 3 else None
    if order is not None and order > 3:
        raise UsageError(f"--methods '{text}': ORDER must be 1, 2 or 3, got {order}")
    return MethodSpec(method=parts[0], steps=steps, sampler=sampler, order=order, text=text, bc=bc)


def parse_method_specs(values: list[str] | tuple[str, ...]) -> list[MethodSpec]:
    """Every row of ``--methods`` values (each may hold several specs separated by spaces or commas)."""
    specs = [parse_method_spec(token) for value in values for token in re.split(r"[,\s]+", value) if token]
    if not specs:
        raise UsageError(f"--methods names no row: use {SPEC_FORMAT}")
    labels = [spec.label for spec in specs]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise UsageError(f"--methods lists {', '.join(repeated)} more than once")
    return specs


def sampler_for(spec: MethodSpec, recipe_sampler: SamplerConfig | None) -> SamplerConfig | None:
    """The recipe's sampler with the spec's overrides (a new sampler starts from its own defaults); None for a
    released model (``recipe_sampler`` None), which takes no overrides."""
    if recipe_sampler is None:
        if (spec.steps, spec.sampler, spec.order) != (None, None, None):
            raise UsageError(f"--methods '{spec.label}': a released model samples as released; give it no STEPS, SAMPLER or ORDER")
        return None
    try:
        return recipe_sampler.with_overrides(sampler=spec.sampler, steps=spec.steps, order=spec.order)
    except RecipeError as err:
        raise UsageError(f"--methods '{spec.label}': {err}") from None
