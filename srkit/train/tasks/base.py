"""What every training task provides to the loop (:mod:`srkit.train.loop`).

A task owns its networks and its loss. The loop owns everything generic:
data, optimisers, EMA, mixed precision, gradient accumulation, DDP,
checkpoints, validation and logs. Trainable modules are addressed by name
(``net``, ``decoder``, ``discriminator``, ``autoencoder``); the names are the
checkpoint prefixes and the optimiser names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from srkit.model import MODEL_KIND
from srkit.recipes import Recipe
from srkit.train.data import TrainBatch

Logs = dict[str, Tensor]


class Task(ABC):
    """One kind of training: diffusion stage 1, CCSR stage-2 decoder, or the autoencoder."""

    #: What the task trains, for messages.
    label: str = "model"
    #: Checkpoint ``kind`` written for this task's models.
    checkpoint_kind: str = MODEL_KIND
    #: Whether the loss needs LR inputs (made on the fly by the degradation when absent).
    needs_lr: bool = True
    #: HR pixels of context the data crops carry on every side beyond ``data.crop`` (cut off by the task).
    crop_margin: int = 0
    #: Consecutive draws that share one data batch (:meth:`srkit.train.loop.Trainer.micro_batch`).
    batch_reuse: int = 1

    def __init__(self, recipe: Recipe, device: torch.device) -> None:
        self.recipe = recipe
        self.device = device
        self.trainables: dict[str, nn.Module] = {}
        self.runners: dict[str, nn.Module] = {}

    # --- set-up, called by the loop ---------------------------------------------------
    @property
    def averaged(self) -> tuple[str, ...]:
        """Names of the trainables kept as an exponential moving average (saved in checkpoints)."""
        return tuple(self.trainables)

    @abstractmethod
    def learning_rates(self) -> dict[str, float]:
        """Target learning rate of each trainable module."""

    @abstractmethod
    def total_steps(self) -> int:
        """Optimisation steps of the whole run."""

    def set_runners(self, runners: Mapping[str, nn.Module]) -> None:
        """The modules the forward passes call (DDP/compile wrappers of :attr:`trainables`)."""
        self.runners = dict(runners)

    def runner(self, name: str) -> nn.Module:
        return self.runners.get(name, self.trainables[name])

    def extra_state(self) -> dict[str, Any]:
        """Settings fixed when the run started that a resumed run must keep (JSON-able)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    # --- per step ---------------------------------------------------------------------
    @abstractmethod
    def loss(self, batch: TrainBatch, step: int, generator: torch.Generator) -> tuple[Tensor, Logs]:
        """Total loss of one micro-batch (to differentiate) and detached scalars to log (``loss`` first)."""

    # --- outputs ----------------------------------------------------------------------
    @abstractmethod
    def checkpoint_tensors(self, averaged: Mapping[str, nn.Module], reference: TrainBatch) -> dict[str, Tensor]:
        """Tensors of the model checkpoint, built from the EMA copies (``reference``: a fixed training batch)."""

    @abstractmethod
    def validation_output(self, averaged: Mapping[str, nn.Module], lr: Tensor, hr: Tensor,
                          generator: torch.Generator) -> Tensor:
        """The model's output for a validation batch (``lr``, ``hr`` in [0, 1]), in [0, 1] at HR size."""


def prefixed(prefix: str, module: nn.Module) -> dict[str, Tensor]:
    """``module``'s state dict with ``prefix.`` in front of every name."""
    return {f"{prefix}.{name}": tensor for name, tensor in module.state_dict().items()}


def freeze(module: nn.Module) -> nn.Module:
    """Eval mode and no gradients: a frozen part of the model."""
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def to_engine(images: Tensor) -> Tensor:
    """[0, 1] images -> the engine's [-1, 1]."""
    return images * 2.0 - 1.0


def from_engine(images: Tensor) -> Tensor:
    """The engine's [-1, 1] -> [0, 1], clamped."""
    return ((images + 1.0) * 0.5).clamp(0.0, 1.0)
