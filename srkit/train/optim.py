"""Optimisers, the warm-up learning-rate rule, gradient clipping and loss scaling.

The learning rate is a pure function of the step (linear warm-up to the
recipe's ``lr``, then constant, as SR3/ADM train), set before every update,
so resuming needs no scheduler state. One :class:`Updater` steps every
optimiser of a task together after the gradients of all micro-batches have
accumulated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import torch
from torch import nn

from srkit.errors import UsageError
from srkit.recipes import TrainConfig


def build_optimizer(params: Iterable[nn.Parameter], cfg: TrainConfig, lr: float | None = None) -> torch.optim.Optimizer:
    """Adam or AdamW (``cfg.optimizer``) with the recipe's betas and weight decay; ``lr`` overrides ``cfg.lr``."""
    params = [p for p in params if p.requires_grad]
    if not params:
        raise UsageError("nothing to train: every parameter of this task is frozen")
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return kind(params, lr=lr or cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Learning-rate multiplier for the update that ends step ``step + 1``: ``min(1, (step + 1) / warmup)``."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


def make_grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A GradScaler for fp16 autocast on CUDA (fp16 gradients underflow without it); None otherwise."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)


@dataclass
class Updater:
    """Steps a task's optimisers: unscale, clip the global grad norm, step, zero, update the scaler.

    ``base_lrs`` holds each optimiser's target learning rate; :meth:`step`
    applies the warm-up factor of the current step before updating.
    """

    optimizers: Mapping[str, torch.optim.Optimizer]
    base_lrs: Mapping[str, float]
    grad_clip: float = 0.0
    warmup_steps: int = 0
    scaler: torch.amp.GradScaler | None = None

    def backward(self, loss: torch.Tensor) -> None:
        """Accumulate gradients of ``loss`` (scaled for fp16)."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def current_lr(self, name: str, step: int) -> float:
        return self.base_lrs[name] * warmup_factor(step, self.warmup_steps)

    def step(self, step: int) -> dict[str, torch.Tensor]:
        """Apply one update with the learning rate of ``step``; returns each optimiser's grad norm (a tensor)."""
        norms: dict[str, torch.Tensor] = {}
        for name, optimizer in self.optimizers.items():
            for group in optimizer.param_groups:
                group["lr"] = self.current_lr(name, step)
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            if params:
                max_norm = self.grad_clip if self.grad_clip > 0 else float("inf")
                norms[name] = torch.nn.utils.clip_grad_norm_(params, max_norm)
            if self.scaler is not None:
                self.scaler.step(optimizer)
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.update()
        return norms
