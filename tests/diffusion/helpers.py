"""Fake networks with known answers, and small processes, for the engine tests."""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.diffusion.processes import (
    DiffusionProcess,
    DoSSRProcess,
    ResShiftProcess,
    VPProcess,
)
from srkit.diffusion.schedules import make_betas


def vp(T: int = 1000, schedule: str = "linear") -> VPProcess:
    return VPProcess(make_betas(schedule, T, 1e-4, 0.02))


def resshift(T: int = 15) -> ResShiftProcess:
    return ResShiftProcess(T=T, kappa=2.0, power=0.3, min_noise_level=0.04, eta_T=0.999)


def dossr(T: int = 1000, t1: int | None = None) -> DoSSRProcess:
    return DoSSRProcess(make_betas("linear", T, 1e-4, 0.02), t1)


def unscale(process: DiffusionProcess, x_in: Tensor, t: Tensor) -> Tensor:
    """Recover ``x_t`` from the network input (undo ``scale_model_input``)."""
    return x_in / process.scale_model_input(torch.ones_like(x_in), t)


def coefficients(process: DiffusionProcess, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``c_x0, c_y, c_eps`` at ``t`` built from ``coef`` (independent of the tensor code paths)."""
    rows = [process.coef(int(i)) for i in t]
    shape = (-1,) + (1,) * (like.ndim - 1)

    def column(name: str) -> Tensor:
        return torch.tensor([getattr(c, name) for c in rows], dtype=like.dtype).reshape(shape)

    return column("c_x0"), column("c_y"), column("c_eps")


class OracleNet:
    """Knows the true ``x0``: returns it, or the exact noise that maps it to the given ``x_t``."""

    def __init__(self, process: DiffusionProcess, x0: Tensor, prediction: str) -> None:
        self.process, self.x0, self.prediction = process, x0, prediction
        self.timesteps: list[int] = []

    def __call__(self, x_in: Tensor, y: Tensor, t: Tensor) -> Tensor:
        assert t.dtype == torch.float32 and t.shape == (x_in.shape[0],)
        ti = t.long()
        self.timesteps.append(int(ti[0]))
        if self.prediction == "x0":
            return self.x0.clone()
        c_x0, c_y, c_eps = coefficients(self.process, ti, x_in)
        if self.prediction == "vp_eps":  # the noise of a VP process with signal c_x0 + c_y
            return (unscale(self.process, x_in, ti) - (c_x0 + c_y) * self.x0) / c_eps
        return (unscale(self.process, x_in, ti) - c_x0 * self.x0 - c_y * y) / c_eps


class GaussianDataNet:
    """The exact x0-prediction ``E[x0 | x_t]`` when every pixel of ``x0`` is ``N(mu, sd^2)`` (any affine process)."""

    def __init__(self, process: DiffusionProcess, mu: float, sd: float) -> None:
        self.process, self.mu, self.sd = process, mu, sd

    def __call__(self, x_in: Tensor, y: Tensor, t: Tensor) -> Tensor:
        ti = t.long()
        c_x0, c_y, c_eps = coefficients(self.process, ti, x_in)
        gain = c_x0 * self.sd**2 / (c_x0**2 * self.sd**2 + c_eps**2)
        return self.mu + gain * (unscale(self.process, x_in, ti) - c_x0 * self.mu - c_y * y)


class AffineNet(torch.nn.Module):
    """A tiny trainable stand-in: ``w1 x + w2 y + w3 t/1000 + b`` per pixel; records each call."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([0.7, -0.3, 0.2, 0.05], dtype=torch.float64))
        self.calls: list[dict[str, object]] = []

    def forward(self, x_in: Tensor, y: Tensor, t: Tensor) -> Tensor:
        self.calls.append({"x_in": x_in.detach().clone(), "t": t.clone(), "grad": torch.is_grad_enabled()})
        w = self.weight
        t_term = (t.to(x_in.dtype) / 1000.0).reshape(-1, 1, 1, 1)
        return w[0] * x_in + w[1] * y + w[2] * t_term + w[3]
