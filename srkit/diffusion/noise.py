"""Explicitly seeded random draws: the engine never touches torch's global RNG.

A ``torch.Generator`` lives on one device; draws are made there and moved to
the tensor's device, so a CPU generator reproduces the same numbers whatever
device the model runs on.
"""

from __future__ import annotations

import torch
from torch import Tensor


def default_generator(generator: torch.Generator | None) -> torch.Generator:
    """``generator`` itself, or a CPU generator seeded with 0 (so an unseeded call is still reproducible)."""
    if generator is not None:
        return generator
    return torch.Generator(device="cpu").manual_seed(0)


def randn_like(x: Tensor, generator: torch.Generator) -> Tensor:
    """Standard normal noise with the shape, dtype and device of ``x``."""
    draw = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return draw.to(x.device)


def randint(high: int, batch: int, generator: torch.Generator, device: torch.device | str) -> Tensor:
    """``batch`` integers uniform on ``[0, high)`` as a long tensor on ``device``."""
    draw = torch.randint(0, high, (batch,), generator=generator, device=generator.device)
    return draw.to(device)
