"""Which model a command means: ``--recipe FILE`` / ``--method NAME`` / ``--weights FILE`` -> a model.

Rules: ``--recipe`` wins over ``--method``. With ``--weights`` alone the
checkpoint's own recipe is used; with a recipe too, the recipe's network must
match the weights. Without ``--weights`` the recipe's built-in checkpoint is
loaded (a one-line error says how to train or pass one when none is shipped).
A released method (``realesrgan``: Real-ESRGAN x4plus from ``srkit.pretrained``)
loads as its pipeline, which runs wherever an srkit model does.
"""

from __future__ import annotations

import torch

from srkit.errors import UsageError
from srkit.model import AnyModel, check_precision, load_model
from srkit.recipes import Recipe, load_recipe
from srkit.released.base import ReleasedPipeline

RELEASED_METHODS = ("realesrgan",)


def resolve_recipe(method: str | None, recipe_path: str | None, weights: str | None, default_method: str) -> Recipe | None:
    """The recipe the options name, or None when the checkpoint's recipe should be used."""
    if recipe_path:
        return load_recipe(recipe_path)
    if method:
        return load_recipe(method)
    return None if weights else load_recipe(default_method)


def precision_warning(precision: str, device: str) -> str | None:
    """Validate the precision for ``device`` (fp16 on CPU is refused); a warning line for bf16 on CPU."""
    check_precision(precision, torch.device(device))
    if torch.device(device).type == "cpu" and precision == "bf16":
        return "warning: precision bf16 on CPU runs under autocast and is usually slower than fp32"
    return None


def load_realesrgan(device: str | torch.device, precision: str = "fp32") -> ReleasedPipeline:
    """Real-ESRGAN x4plus as a released pipeline (``srkit.pretrained.realesrgan``); one line when it is unavailable."""
    try:
        from srkit.pretrained.realesrgan import load_realesrgan_x4plus  # optional part: imported only when asked for
    except ImportError as err:
        raise UsageError(f"method 'realesrgan' is unavailable in this installation ({err})") from None
    return load_realesrgan_x4plus(torch.device(device), precision)


def open_model(
    *, method: str | None, recipe_path: str | None, weights: str | None, device: str, precision: str, default_method: str
) -> AnyModel:
    """Resolve the recipe and load the model onto ``device`` (see the module docstring)."""
    if method in RELEASED_METHODS and not recipe_path:
        if weights:
            raise UsageError(f"method '{method}' brings its own weights; a weights file does not apply to it")
        return load_realesrgan(device, precision)
    recipe = resolve_recipe(method, recipe_path, weights, default_method)
    return load_model(weights, recipe=recipe, device=device, precision=precision)
