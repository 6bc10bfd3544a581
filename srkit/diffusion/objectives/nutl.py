"""CCSR non-uniform timestep learning (Sun et al., CCSR §3.2, eq. (2)-(3); METHODS.md §5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser, Net
from srkit.diffusion.noise import randn_like
from srkit.diffusion.objectives.common import (
    check_loss,
    draw_training_input,
    pixel_loss,
    regression_target,
)
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.diffusion.samplers.common import timestep
from srkit.diffusion.samplers.timesteps import fraction_to_index
from srkit.errors import UsageError


@dataclass(frozen=True)
class NutlObjective:
    """``l_diff + l_T + l_tmax`` on a VP model: 3 network calls per step, all with gradient.

    - ``l_diff``: the ordinary regression loss (eq. (2); ``prediction``, ``loss``) at ``t`` uniform on
      ``[0, t_max]``: the paper trains the steps that sampling uses (T and ``[t_min, t_max]``, §3.2)
      and the official code draws ``t`` below ``t_max``, so nothing is spent above it;
    - ``l_T = |x0 - x0_T|^2`` with ``x_T = q_sample(x0, eps_T, T)`` and ``x0_T`` the network's
      estimate there (``x0_from_eps`` divides by ``sqrt(ab_T)``, unclamped as in the paper);
    - ``l_tmax = |x0 - x0_tmax|^2`` with ``x_tmax = sqrt(ab_tmax) x0_T + sqrt(1 - ab_tmax) eps'``.

    The three terms draw independent noises (as the official code does): the sampler's jump
    ``T -> t_max`` re-noises ``x0_T`` with fresh noise, so training does too. The paper states
    eq. (3) "at t = T"; with uniform ``t`` that branch would almost never run, so it is applied
    to every batch. Gradients also flow through ``x0_T`` into ``l_tmax``. ``t_max`` is a
    fraction of ``T`` mapped to an index as the CCSR sampler does.
    """

    prediction: str = "eps"
    loss: str = "l2"
    t_max: float = 2.0 / 3.0

    def __post_init__(self) -> None:
        check_loss(self.loss)
        if not 0.0 < self.t_max < 1.0:
            raise UsageError(f"NUTL t_max must be a fraction of T in (0, 1), got {self.t_max}")

    def __call__(
        self, net: Net, process: DiffusionProcess, x0: Tensor, y: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Tensor]]:
        if process.kind != "vp":
            raise UsageError(f"non-uniform timestep learning (CCSR) needs the VP process, not {process.kind!r}")
        denoiser = Denoiser(net, process, self.prediction)
        t_max_index = fraction_to_index(self.t_max, process.T)
        draw = draw_training_input(process, x0, y, generator, t_end=t_max_index + 1)
        target = regression_target(process, self.prediction, x0, draw.eps, draw.t, draw.x_t)
        loss_diff = pixel_loss(denoiser(draw.x_t, y, draw.t).raw, target, self.loss)

        t_last = timestep(process.T - 1, x0)
        x0_T = denoiser(process.q_sample(x0, y, randn_like(x0, generator), t_last), y, t_last).x0
        loss_T = (x0 - x0_T).square().mean()

        t_max = timestep(t_max_index, x0)
        x0_tmax = denoiser(process.q_sample(x0_T, y, randn_like(x0, generator), t_max), y, t_max).x0
        loss_tmax = (x0 - x0_tmax).square().mean()

        loss = loss_diff + loss_T + loss_tmax
        logs = {"loss": loss, "loss_diff": loss_diff, "loss_T": loss_T, "loss_tmax": loss_tmax}
        return loss, {name: value.detach() for name, value in logs.items()}
