"""DREAM: diffusion rectification and estimation-adaptive training (Zhou et al. 2024, Algorithm 3; METHODS.md §2)."""

from __future__ import annotations

import math
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
from srkit.errors import UsageError


@dataclass(frozen=True)
class DreamObjective:
    """Train on the network's own re-noised estimate: two calls, the first without gradient.

    With ``x_t`` from ``(x0, eps, t)`` and the first-pass output ``f`` (no gradient),
    ``lam = noise_level(t) ** p`` (``p = inf``: 0, standard training; ``p = 0``: 1, DRM):

    - eps models (Algorithm 3 for VP): ``eps' = eps + lam (eps - f)``, input
      ``x_hat = q_sample(x0, y, eps', t)``, target ``eps'``;
    - x0 and vp_eps models (METHODS.md §2, general view): ``x0_mix = lam x0_f + (1 - lam) x0``
      with ``x0_f`` the first pass's x0 estimate, input ``x_hat = q_sample(x0_mix, y, eps, t)``
      with the *same* ``eps``, target the output that maps ``x_hat`` to ``x0`` (``x0`` itself
      for x0 models).

    Both are the same rectification wherever ``x0`` can be read off ``x_t``: re-noising
    ``x0_mix`` built from the eps model's ``x0`` estimate gives exactly ``x_hat`` above,
    and the eps form stays defined where it cannot (DoSSR at ``eta = 1``). Gradients flow
    through the second call only. ``perceptual`` (optional) adds ``perceptual_weight *
    mean_b d(x0_hat_b, x0_b)`` on the second call's data estimate, as in :class:`RegressionObjective`.
    """

    p: float = 1.0
    prediction: str = "eps"
    loss: str = "l1"
    perceptual: PerceptualLoss | None = None
    perceptual_weight: float = 1.0

    def __post_init__(self) -> None:
        check_loss(self.loss)
        if not self.p >= 0:
            raise UsageError(f"DREAM needs p >= 0 (0 = DRM, inf = standard training), got {self.p}")
        if self.prediction not in ("eps", "x0", "vp_eps"):
            raise UsageError(f"DREAM supports eps, x0 or vp_eps prediction, not {self.prediction!r}")

    def rectification_weight(self, process: DiffusionProcess, t: Tensor, like: Tensor) -> Tensor:
        """``lam = noise_level(t) ** p``; exactly 0 for ``p = inf``."""
        level = process.noise_level(t, like)
        return torch.zeros_like(level) if math.isinf(self.p) else level**self.p

    def __call__(
        self, net: Net, process: DiffusionProcess, x0: Tensor, y: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, dict[str, Tensor]]:
        draw = draw_training_input(process, x0, y, generator)
        denoiser = Denoiser(net, process, self.prediction)
        with torch.no_grad():
            first = denoiser(draw.x_t, y, draw.t)
        lam = self.rectification_weight(process, draw.t, x0)
        if self.prediction == "eps":
            target = draw.eps + lam * (draw.eps - first.raw)
            x_hat = process.q_sample(x0, y, target, draw.t)
        else:
            x_hat = process.q_sample(lam * first.x0 + (1.0 - lam) * x0, y, draw.eps, draw.t)
            target = regression_target(process, self.prediction, x0, draw.eps, draw.t, x_hat)
        out = denoiser(x_hat, y, draw.t)
        loss, logs = add_perceptual(pixel_loss(out.raw, target, self.loss), out.x0, x0, self.perceptual, self.perceptual_weight)
        return loss, {**logs, "dream_lambda": lam.mean().detach()}
