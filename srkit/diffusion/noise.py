"""Explicitly seeded random draws: the engine never touches torch's global RNG.

A ``torch.Generator`` lives on one device; draws are made there and moved to
the tensor's device, so a CPU generator reproduces the same numbers whatever
device the model runs on. A :class:`NoiseSource` may stand in for the generator
where every draw has a meaning of its own (tiled sampling, srkit.infer.seeding).
"""

from __future__ import annotations

from typing import Protocol, Union

import torch
from torch import Tensor


class NoiseSource(Protocol):
    """Anything that draws the next standard-normal tensor shaped like ``x`` (e.g. position-keyed tile noise)."""

    def randn_like(self, x: Tensor) -> Tensor: ...


Noise = Union[torch.Generator, NoiseSource]


def default_generator(generator: Noise | None) -> Noise:
    """``generator`` itself, or a CPU generator seeded with 0 (so an unseeded call is still reproducible)."""
    if generator is not None:
        return generator
    return torch.Generator(device="cpu").manual_seed(0)


def randn_like(x: Tensor, generator: Noise) -> Tensor:
    """Standard normal noise with the shape, dtype and device of ``x``, from a generator or a noise source."""
    if not isinstance(generator, torch.Generator):
        return generator.randn_like(x).to(device=x.device, dtype=x.dtype)
    draw = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return draw.to(x.device)


def randint(high: int, batch: int, generator: torch.Generator, device: torch.device | str) -> Tensor:
    """``batch`` integers uniform on ``[0, high)`` as a long tensor on ``device``."""
    draw = torch.randint(0, high, (batch,), generator=generator, device=generator.device)
    return draw.to(device)
