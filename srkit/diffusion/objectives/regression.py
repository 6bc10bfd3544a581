"""Plain eps / x0 / v regression (DDPM's L_simple; SR3 with L1; ResShift with x0 and MSE)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser, Net
from srkit.diffusion.objectives.common import (
    PerceptualLoss,
    add_perceptual,
    check_loss,
    draw_training_input,
    pixel_loss,
    regression_target,
)
from srkit.diffusion.processes.base import DiffusionProcess


@dataclass(frozen=True)
class RegressionObjective:
    """``|| target - net(x_t, y, t) ||`` with ``x_t`` from the process, ``t`` uniform (1 network call).

    ``prediction``: ``"eps"`` (target ``eps``), ``"x0"`` (target ``x0``), ``"v"`` (VP only) or
    ``"vp_eps"`` (target ``(x_t - (c_x0 + c_y) x0) / c_eps``; the official DoSSR code weights this
    error in x0 space, srkit in the output's own space, as the eps prior was trained);
    ``loss``: ``"l1"`` or ``"l2"`` (mean over all elements). ``perceptual`` (optional) adds
    ``perceptual_weight * mean_b d(x0_hat_b, x0_b)`` on the network's data estimate, e.g. LPIPS
    (ResShift's released 4-step models add LPIPS the same way); pixel mode.
    """

    prediction: str = "eps"
    loss: str = "l2"
    perceptual: PerceptualLoss | None = None
    perceptual_weight: float = 1.0

    def __post_init__(self) -> None:
        check_loss(self.loss)

    def __call__(
        self, net: Net, process: DiffusionProcess, x0: Tensor, y: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Tensor]]:
        draw = draw_training_input(process, x0, y, generator)
        out = Denoiser(net, process, self.prediction)(draw.x_t, y, draw.t)
        loss = pixel_loss(out.raw, regression_target(process, self.prediction, x0, draw.eps, draw.t, draw.x_t), self.loss)
        return add_perceptual(loss, out.x0, x0, self.perceptual, self.perceptual_weight)
