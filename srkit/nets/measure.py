"""Network size: parameter counts and FLOPs per forward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def param_count(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (shared parameters counted once)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


@torch.no_grad()
def forward_flops(fn: Callable[..., Any], *inputs: Any) -> int:
    """FLOPs of one ``fn(*inputs)`` call (a module or e.g. ``autoencoder.decode``), by ``torch.utils.flop_counter``.

    Counts matrix multiplies, convolutions and attention (2 FLOPs per
    multiply-add); element-wise work (norms, activations) is not counted.
    """
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*inputs)
    return counter.get_total_flops()
