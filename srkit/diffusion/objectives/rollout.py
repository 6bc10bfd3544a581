"""Sampler roll-out training: fit the network on the inputs its own sampler feeds it (METHODS.md §2, multi-step view).

DREAM (§2) re-noises the network's estimate at the *same* timestep, so the mismatch it
corrects shrinks with the noise level (``lam = noise_level(t) ** p``). A few-step
sampler feeds its later calls states built from *earlier, noisier* estimates, and at
low noise that error dominates the input. Rolling the sampler out trains on exactly
those states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser, DenoiserOutput, Net
from srkit.diffusion.noise import randint
from srkit.diffusion.objectives.common import (
    Objective,
    PerceptualLoss,
    add_perceptual,
    check_loss,
    pixel_loss,
    require_generator,
)
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.errors import UsageError

#: ``sampler(denoiser, process, y, noise=, generator=, callback=)``, as a bound recipe sampler is called.
Sampler = Callable[..., Any]


class _Reached(Exception):
    """Raised inside the sampler once the call to train on is reached."""


class _StopAtCall(Denoiser):
    """A denoiser that runs the first ``call`` network calls, then records the next call's input and stops the sampler."""

    def __init__(self, net: Net, process: DiffusionProcess, prediction: str, call: int) -> None:
        super().__init__(net, process, prediction)
        self.call = call
        self.seen: tuple[Tensor, Tensor] | None = None

    def __call__(self, x_t: Tensor, y: Tensor, t: Tensor, *, clip_x0: bool = False) -> DenoiserOutput:
        if self.nfe == self.call:
            self.seen = (x_t, t)
            raise _Reached
        return super().__call__(x_t, y, t, clip_x0=clip_x0)


def rollout_input(
    net: Net, process: DiffusionProcess, prediction: str, sampler: Sampler, y: Tensor, call: int,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """``(x_t, t)`` of the sampler's network call number ``call`` (0 = the start state), without gradient.

    The sampler runs from its own start (start noise and every later draw from
    ``generator``); ``call`` must be below its NFE.
    """
    denoiser = _StopAtCall(net, process, prediction, call)
    with torch.no_grad():
        try:
            sampler(denoiser, process, y, generator=generator)
        except _Reached:
            pass
    if denoiser.seen is None:
        raise UsageError(f"the sampler made {denoiser.nfe} network calls, fewer than call {call} to train on")
    x_t, t = denoiser.seen
    return x_t.detach(), t.detach()


def sampler_calls(sampler: Sampler, process: DiffusionProcess, y: Tensor) -> int:
    """How many network calls ``sampler`` makes per run (its NFE): one run with a zero x0 network on an 8x8 crop of ``y``."""

    def zero_net(x: Tensor, cond: Tensor, t: Tensor) -> Tensor:
        return torch.zeros_like(x)

    denoiser = Denoiser(zero_net, process, "x0")
    with torch.no_grad():
        sampler(denoiser, process, y[:1, :, :8, :8], generator=torch.Generator(device=y.device).manual_seed(0))
    return denoiser.nfe


@dataclass(frozen=True)
class RolloutObjective:
    """With probability ``p`` per batch, train an x0 network on a call of its own sampler; otherwise ``base``.

    Roll-out batch: draw the call ``k`` uniformly from the sampler's network calls
    (:func:`sampler_calls`), run the sampler from its start (its start noise and draws from the training
    generator) through calls ``0..k-1`` without gradient, and regress the network's
    output at call ``k``'s state and timestep onto the clean ``x0`` (plus the perceptual
    term on it). Call 0 is the sampler's start, so the one-step output is trained too.
    The draw order (the ``p`` coin, then ``k``, then the sampler's) is fixed, so resume is exact.
    """

    base: Objective
    sampler: Sampler
    p: float = 1.0
    loss: str = "l2"
    perceptual: PerceptualLoss | None = None
    perceptual_weight: float = 1.0
    _calls: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_loss(self.loss)
        if not 0.0 < self.p <= 1.0:
            raise UsageError(f"roll-out training needs a batch fraction in (0, 1], got {self.p}")

    def calls(self, process: DiffusionProcess, y: Tensor) -> int:
        """The sampler's network calls per run (counted once, with a zero network and its own generator)."""
        if "n" not in self._calls:
            self._calls["n"] = sampler_calls(self.sampler, process, y)
        return self._calls["n"]

    def __call__(
        self, net: Net, process: DiffusionProcess, x0: Tensor, y: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Tensor]]:
        require_generator(generator)
        coin = torch.rand((), generator=generator, device=generator.device).item()
        if coin >= self.p:
            return self.base(net, process, x0, y, generator)
        call = int(randint(self.calls(process, y), 1, generator, x0.device).item())
        x_t, t = rollout_input(net, process, "x0", self.sampler, y, call, generator)
        out = Denoiser(net, process, "x0")(x_t, y, t)
        return add_perceptual(pixel_loss(out.raw, x0, self.loss), out.x0, x0, self.perceptual, self.perceptual_weight)
