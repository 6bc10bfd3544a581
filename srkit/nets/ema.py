"""Exponential moving average of weights (Polyak averaging; as in DDPM/ADM training)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from srkit.errors import WeightsError
from srkit.io.checkpoints import strip_wrapper_name as strip_name


def _shadow_dtype(dtype: torch.dtype) -> torch.dtype:
    """Floating tensors are averaged in at least float32 (bf16/fp16 weights lose small updates)."""
    return torch.promote_types(dtype, torch.float32) if dtype.is_floating_point else dtype


class EMA:
    """Shadow copy of a model's floating parameters, updated after each optimiser step.

    ``ema = d * ema + (1 - d) * param`` with ``d = decay``, or with ``warmup``
    ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` previous updates (the
    warm-up of TensorFlow's ExponentialMovingAverage ``num_updates``), so early
    averages are not dominated by the random initialisation. Buffers (e.g. norm
    statistics, the autoencoder's ``scale_factor``) are copied, not averaged.
    Names have wrapper prefixes (``module.``, ``_orig_mod.``) removed.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA decay must be in [0, 1], got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {
            name: t.detach().clone().to(_shadow_dtype(t.dtype)) for name, t in self._tensors(model).items()
        }

    @staticmethod
    def _tensors(model: nn.Module) -> dict[str, torch.Tensor]:
        return {strip_name(name): t for name, t in model.state_dict(keep_vars=True).items()}

    def current_decay(self) -> float:
        """The decay the next :meth:`update` will use."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the shadow towards ``model``: ``ema <- ema + (1 - d) (param - ema)``."""
        d = self.current_decay()
        params = {strip_name(name) for name, p in model.named_parameters() if p.dtype.is_floating_point}
        for name, tensor in self._tensors(model).items():
            shadow = self.shadow.get(name)
            if shadow is None:
                raise WeightsError(f"EMA was made for another network: it has no {name!r}")
            if name in params:
                shadow.lerp_(tensor.detach().to(shadow.dtype), 1.0 - d)
            else:
                shadow.copy_(tensor.detach())
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights (and copied buffers) into ``model``."""
        for name, tensor in self._tensors(model).items():
            tensor.copy_(self.shadow[name])

    def state_dict(self) -> dict[str, Any]:
        """``{"decay", "warmup", "num_updates", "shadow": {name: tensor}}`` (shadow: the EMA weights)."""
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "num_updates": self.num_updates,
            "shadow": dict(self.shadow),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        shadow = {strip_name(k): v for k, v in state["shadow"].items()}
        if set(shadow) != set(self.shadow):
            raise WeightsError("EMA state does not fit this network; it was saved for a different network block")
        for name, tensor in shadow.items():
            self.shadow[name].copy_(tensor)
        self.decay = float(state["decay"])
        self.warmup = bool(state["warmup"])
        self.num_updates = int(state["num_updates"])
