"""What the objectives share: the training draw, the pixel loss and the target for each parameterisation.

An objective is a callable ``objective(net, process, x0, y, generator) -> (loss, logs)``:
``loss`` is a scalar tensor to back-propagate, ``logs`` maps names to detached scalar
tensors (no host sync; call ``.item()`` when logging).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Net
from srkit.diffusion.noise import randint, randn_like
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.errors import UsageError

LOSSES = ("l1", "l2")

#: ``(x0_hat, x0) -> per-image distance (B,)`` on engine-range images in [-1, 1], differentiable in ``x0_hat``.
PerceptualLoss = Callable[[Tensor, Tensor], Tensor]


class Objective(Protocol):
    """``(net, process, x0, y, generator) -> (loss, logs)``."""

    def __call__(
        self, net: Net, process: DiffusionProcess, x0: Tensor, y: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Tensor]]: ...


@dataclass(frozen=True)
class TrainingDraw:
    """One training draw: timesteps ``t`` (B,), noise ``eps`` and the noisy input ``x_t``."""

    t: Tensor
    eps: Tensor
    x_t: Tensor


def require_generator(generator: torch.Generator | None) -> None:
    """Training needs fresh draws every step, so the generator is required (no silent default seed)."""
    if generator is None:
        raise UsageError("training objectives need a torch.Generator to draw timesteps and noise from")


def draw_training_input(
    process: DiffusionProcess, x0: Tensor, y: Tensor, generator: torch.Generator, t_end: int | None = None
) -> TrainingDraw:
    """Draw ``t`` from the process's training range, then ``eps``, and form ``x_t`` (always in that order).

    ``t_end`` narrows ``t`` to uniform on ``[0, t_end)`` (CCSR's ``l_diff``); the generator is
    required (:func:`require_generator`).
    """
    require_generator(generator)
    if t_end is None:
        t = process.training_timesteps(x0.shape[0], generator, x0.device)
    else:
        t = randint(t_end, x0.shape[0], generator, x0.device)
    eps = randn_like(x0, generator)
    return TrainingDraw(t=t, eps=eps, x_t=process.q_sample(x0, y, eps, t))


def pixel_loss(prediction: Tensor, target: Tensor, kind: str) -> Tensor:
    """Mean absolute (``"l1"``) or mean squared (``"l2"``) error over every element."""
    check_loss(kind)
    error = prediction - target
    return error.abs().mean() if kind == "l1" else error.square().mean()


def regression_target(
    process: DiffusionProcess, prediction: str, x0: Tensor, eps: Tensor, t: Tensor, x_t: Tensor
) -> Tensor:
    """What the network should output for ``x_t = q_sample(x0, y, eps, t)``: ``eps``, ``x0``,
    (VP) ``v = sqrt(ab) eps - sqrt(1-ab) x0`` or ``vp_eps = (x_t - (c_x0 + c_y) x0) / c_eps``."""
    if prediction == "eps":
        return eps
    if prediction == "x0":
        return x0
    if prediction == "vp_eps":
        return process.vp_eps_from_x0(x_t, x0, t)
    return process.v_from_x0_eps(x0, eps, t)  # type: ignore[attr-defined]  # Denoiser checked v => VP


def check_loss(loss: str) -> None:
    """Raise a :class:`UsageError` unless ``loss`` is ``"l1"`` or ``"l2"``."""
    if loss not in LOSSES:
        raise UsageError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")


def add_perceptual(
    regression: Tensor, x0_hat: Tensor, x0: Tensor, perceptual: PerceptualLoss | None, weight: float
) -> tuple[Tensor, dict[str, Tensor]]:
    """``regression + weight * mean_b d(x0_hat_b, x0_b)`` and its logged parts (``regression`` alone without ``d``)."""
    if perceptual is None:
        return regression, {"loss": regression.detach()}
    distance = perceptual(x0_hat, x0).mean()
    loss = regression + weight * distance
    return loss, {"loss": loss.detach(), "regression": regression.detach(), "perceptual": distance.detach()}
