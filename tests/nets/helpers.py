"""Shared test helpers for srkit.nets."""

from __future__ import annotations

import torch
from torch import nn


def randomize_(module: nn.Module, seed: int, std: float = 0.2) -> nn.Module:
    """Overwrite every parameter with N(0, std^2) draws, so zero-initialised layers are active."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return module


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
