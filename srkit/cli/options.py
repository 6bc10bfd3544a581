"""Option groups shared by several commands, declared once so their names, checks and help cannot drift.

Model choice: ``--method/--recipe/--weights``; sampler: ``--sampler/--steps/--order/--eta``
(and CCSR's ``--t-max/--t-min``). Sampler names and help come from the catalogue
(:mod:`srkit.sampler_catalogue`); values are checked once, by the recipe's
``SamplerConfig``, and this module only renames the recipe field to the flag in
the one-line error. Nothing here imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer
from typing_extensions import Annotated

from srkit.errors import RecipeError, UsageError
from srkit.sampler_catalogue import order_options_text, sampler_names_text

if TYPE_CHECKING:  # srkit.recipes reads the preset list (yaml): not on the `srkit --help` path
    from srkit.recipes import SamplerConfig

MethodOpt = Annotated[
    Optional[str],
    typer.Option("--method", "-m", help="Recipe name: sr3, sr3-dream, resshift, dossr, ccsr, ... (see `srkit recipes`); default: the command's, or the recipe stored in --weights."),
]
RecipeOpt = Annotated[Optional[str], typer.Option("--recipe", help="Recipe YAML file of your own (overrides --method).")]
WeightsOpt = Annotated[Optional[str], typer.Option("--weights", "-w", help="Checkpoint (.safetensors); default: the method's built-in model.")]
SamplerOpt = Annotated[Optional[str], typer.Option("--sampler", help=f"{sampler_names_text()} (default: the recipe's).")]
StepsOpt = Annotated[Optional[int], typer.Option("--steps", help="Sampling steps (default: the recipe's). NFE is reported.")]
OrderOpt = Annotated[Optional[int], typer.Option("--order", help=f"Solver order 1-3 ({order_options_text()}).")]
EtaOpt = Annotated[Optional[float], typer.Option("--eta", help="DDIM eta in [0, 1] (0 = deterministic).")]
TMaxOpt = Annotated[Optional[float], typer.Option("--t-max", help="CCSR: start of the truncated interval, fraction of T (paper 2/3).")]
SpacingOpt = Annotated[
    Optional[str],
    typer.Option("--spacing", help="Timestep spacing of ddim / dpm-solver: trailing (ddim default), logsnr (dpm-solver default) or uniform."),
]
TMinOpt = Annotated[Optional[float], typer.Option("--t-min", help="CCSR: end of the truncated interval, fraction of T (paper 1/3).")]

_FLAGS = {"steps": "--steps", "order": "--order", "eta": "--eta", "t_max": "--t-max", "t_min": "--t-min", "kind": "--sampler", "spacing": "--spacing"}


def sampler_for_model(
    model: object,
    *,
    sampler: str | None = None,
    steps: int | None = None,
    order: int | None = None,
    eta: float | None = None,
    t_max: float | None = None,
    t_min: float | None = None,
    spacing: str | None = None,
) -> "SamplerConfig | None":
    """The sampler settings of a run on ``model``: its recipe's with the command-line overrides (None for a released
    model, which samples as released and refuses overrides in one line)."""
    recipe = getattr(model, "recipe", None)
    given = {"--sampler": sampler, "--steps": steps, "--order": order, "--eta": eta, "--t-max": t_max, "--t-min": t_min, "--spacing": spacing}
    if recipe is None:
        flags = [flag for flag, value in given.items() if value is not None]
        if flags:
            raise UsageError(f"{'/'.join(flags)} do not apply to the released model {getattr(model, 'model_id', '')}: it samples as released")
        return None
    return sampler_overrides(recipe.sampler, sampler=sampler, steps=steps, order=order, eta=eta, t_max=t_max, t_min=t_min, spacing=spacing)


def sampler_overrides(
    base: "SamplerConfig",
    *,
    sampler: str | None = None,
    steps: int | None = None,
    order: int | None = None,
    eta: float | None = None,
    t_max: float | None = None,
    t_min: float | None = None,
    spacing: str | None = None,
) -> "SamplerConfig":
    """``base`` with the sampler options of the command line, checked once (by ``SamplerConfig``); errors name the flag."""
    try:
        return base.with_overrides(sampler=sampler, steps=steps, order=order, eta=eta, t_max=t_max, t_min=t_min, spacing=spacing)
    except RecipeError as err:
        field, _, problem = str(err).partition(": ")
        if field in _FLAGS:
            raise UsageError(f"{_FLAGS[field]} {problem}") from None
        raise UsageError(f"sampler settings: {err}") from None
