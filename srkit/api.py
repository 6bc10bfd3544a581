"""The library face of srkit: what each command does, as one function call (``from srkit import upscale``).

>>> from srkit import upscale, find_bc, degrade, train
>>> report = upscale("photos/", "out/", method="dossr", steps=5)            # srkit upscale
>>> bc = find_bc("sr3", hr_dir="photos/", candidates=64, out="bc.safetensors")  # srkit find-bc
>>> pairs = degrade("hr/", "pairs/", preset="realesrgan")                   # srkit degrade
>>> summary = train("sr3", data="hr/", out="runs/sr3")                      # srkit train

Every option has the name of its CLI flag (``--tile-overlap`` -> ``tile_overlap``);
errors are :class:`srkit.errors.SrkitError` subclasses with one-line messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from srkit.degrade.folder import degrade_folder as degrade
from srkit.devices import resolve_device
from srkit.infer.bc import load_bc, resolve_bc_path
from srkit.infer.bc_run import find_bc
from srkit.infer.loading import open_model
from srkit.infer.run import UpscaleRun
from srkit.infer.upscale import upscale as upscale_run
from srkit.model import model_name
from srkit.model.surface import require_srkit_model
from srkit.recipes import Recipe, load_recipe
from srkit.train.api import train as train_recipe

DEFAULT_METHOD = "dossr"

__all__ = ["degrade", "find_bc", "train", "upscale"]


def upscale(
    inputs: str | Path | Sequence[Any],
    output: str | Path,
    *,
    method: str | None = None,
    recipe: str | None = None,
    weights: str | Path | None = None,
    sampler: str | None = None,
    steps: int | None = None,
    order: int | None = None,
    eta: float | None = None,
    bc: str | Path | None = None,
    bc_mode: str = "mosaic",
    color_fix: str = "auto",
    tile: str | int | None = "auto",
    tile_overlap: int = 32,
    batch: int = 1,
    device: str = "auto",
    precision: str = "fp32",
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """Super-resolve files, folders or globs into ``output`` with any method; returns the report.

    ``method`` (default dossr), ``recipe`` or ``weights`` name the model as ``srkit upscale``
    does; ``sampler``/``steps``/``order``/``eta`` override the recipe's sampler; ``bc`` is a
    boundary-condition file (or ``"builtin"``). Other ``options`` (``scale``, ``ext``, ``suffix``,
    ``overwrite``, ``skip_unreadable``, ``progress``) go to :func:`srkit.infer.upscale.upscale`.
    """
    model = open_model(method=method, recipe_path=recipe, weights=str(weights) if weights else None,
                       device=resolve_device(device), precision=precision, default_method=DEFAULT_METHOD)
    overrides = {"sampler": sampler, "steps": steps, "order": order, "eta": eta}
    sampler_cfg = None
    if any(value is not None for value in overrides.values()):
        sampler_cfg = require_srkit_model(model, "a sampler setting").recipe.sampler.with_overrides(**overrides)
    boundary = load_bc(resolve_bc_path(bc, model_name(model)), mode=bc_mode) if bc is not None else None
    run = UpscaleRun.build(model, sampler=sampler_cfg, bc=boundary, tile=tile, overlap=tile_overlap, batch=batch, color_fix=color_fix)
    return upscale_run(inputs, output, run=run, seed=seed, **options)


def train(recipe: str | Recipe, **options: Any) -> dict[str, Any]:
    """Train ``recipe`` (a name, a YAML path or a :class:`~srkit.recipes.Recipe`); see :func:`srkit.train.api.train`."""
    return train_recipe(load_recipe(recipe) if not isinstance(recipe, Recipe) else recipe, **options)
