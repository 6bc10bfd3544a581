"""Which model a command means: ``--recipe FILE`` / ``--method NAME`` / ``--weights FILE`` -> an :class:`SRModel`.

Rules: ``--recipe`` wins over ``--method``. With ``--weights`` alone the
checkpoint's own recipe is used; with a recipe too, the recipe's network must
match the weights. Without ``--weights`` the recipe's built-in checkpoint is
loaded (a one-line error says how to train or pass one when none is shipped).
"""

from __future__ import annotations

import torch

from srkit.infer.model import SRModel, check_precision, load_model
from srkit.recipes import Recipe, load_recipe


def resolve_recipe(method: str | None, recipe_path: str | None, weights: str | None, default_method: str) -> Recipe | None:
    """The recipe the options name, or None when the checkpoint's recipe should be used."""
    if recipe_path:
        return load_recipe(recipe_path)
    if method:
        return load_recipe(method)
    return None if weights else load_recipe(default_method)


def precision_warning(precision: str, device: str) -> str | None:
    """Validate ``--precision`` for ``device`` (fp16 on CPU is refused); a warning line for bf16 on CPU."""
    check_precision(precision, torch.device(device))
    if torch.device(device).type == "cpu" and precision == "bf16":
        return "warning: --precision bf16 on CPU runs under autocast and is usually slower than fp32"
    return None


def open_model(
    *, method: str | None, recipe_path: str | None, weights: str | None, device: str, precision: str, default_method: str
) -> SRModel:
    """Resolve the recipe and load the model onto ``device`` (see the module docstring)."""
    recipe = resolve_recipe(method, recipe_path, weights, default_method)
    return load_model(weights, recipe=recipe, device=device, precision=precision)
