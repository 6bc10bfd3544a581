"""Training tasks: diffusion stage 1, CCSR stage-2 decoder, autoencoder. :func:`build_task` picks one."""

from __future__ import annotations

from pathlib import Path

import torch

from srkit.errors import SettingError, UsageError
from srkit.recipes import Recipe
from srkit.train.tasks.autoencoder import AutoencoderTask
from srkit.train.tasks.base import Task
from srkit.train.tasks.decoder import DecoderTask
from srkit.train.tasks.diffusion import DiffusionTask


def build_task(recipe: Recipe, *, stage: int, init: str | Path | None, device: torch.device, seed: int) -> Task:
    """The task a recipe and ``--stage`` ask for."""
    if recipe.task == "autoencoder":
        if stage != 1 or init is not None:
            raise UsageError("the autoencoder recipe trains in one stage from scratch: drop --stage/--init")
        return AutoencoderTask(recipe, device, seed=seed)
    if stage == 2:
        return DecoderTask(recipe, device, seed=seed, init=init)
    if stage != 1:
        raise SettingError("stage", f"must be 1 or 2, got {stage}")
    return DiffusionTask(recipe, device, seed=seed, init=init)


__all__ = ["Task", "build_task"]
