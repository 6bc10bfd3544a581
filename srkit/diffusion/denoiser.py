"""The one place a diffusion network is called: scale the input, call once, convert the output.

Network convention (docs/architecture.md): ``net(x_in, y, t) -> out`` with ``t`` a
float tensor ``(B,)`` holding the process's 0-based timestep index (float32, so
indices stay exact even when the model runs in bf16/fp16).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from srkit.diffusion.processes.base import DiffusionProcess
from srkit.errors import UsageError

Net = Callable[[Tensor, Tensor, Tensor], Tensor]
PREDICTIONS = ("eps", "x0", "v", "vp_eps")


@dataclass(frozen=True)
class DenoiserOutput:
    """One network evaluation: the data and noise estimates, and the raw output they come from."""

    x0: Tensor
    eps: Tensor
    raw: Tensor


class Denoiser:
    """Wrap ``net`` for ``process``: ``denoiser(x_t, y, t) -> DenoiserOutput``, counting calls in :attr:`nfe`.

    ``prediction`` says what the network outputs: ``"eps"``, ``"x0"``, ``"v"`` (VP only) or
    ``"vp_eps"`` (the noise of a VP process with the same signal level, ``x0 = (x_t - c_eps out) /
    (c_x0 + c_y)``: official DoSSR; the same as ``"eps"`` on VP).
    """

    def __init__(self, net: Net, process: DiffusionProcess, prediction: str = "eps") -> None:
        if prediction not in PREDICTIONS:
            raise UsageError(f"unknown prediction {prediction!r}; choose one of {', '.join(PREDICTIONS)}")
        if prediction == "v" and not hasattr(process, "x0_from_v"):
            raise UsageError(f"v-prediction is defined for the VP process only, not {process.kind!r}")
        self.net = net
        self.process = process
        self.prediction = prediction
        self.nfe = 0

    def __call__(self, x_t: Tensor, y: Tensor, t: Tensor, *, clip_x0: bool = False) -> DenoiserOutput:
        """Evaluate the network once at integer timesteps ``t`` (shape ``(B,)``).

        With ``clip_x0`` the data estimate is clamped to [-1, 1] and the noise estimate
        recomputed from the clamped value (as DDPM/DDIM samplers do).
        """
        process = self.process
        raw = self.net(process.scale_model_input(x_t, t), y, t.to(device=x_t.device, dtype=torch.float32))
        self.nfe += 1
        if self.prediction == "eps":
            x0, eps = process.x0_from_eps(x_t, y, raw, t), raw
        elif self.prediction == "x0":
            x0, eps = raw, process.eps_from_x0(x_t, y, raw, t)
        elif self.prediction == "vp_eps":
            x0 = process.x0_from_vp_eps(x_t, raw, t)
            eps = process.eps_from_x0(x_t, y, x0, t)
        else:
            x0, eps = process.x0_from_v(x_t, raw, t), process.eps_from_v(x_t, raw, t)
        if clip_x0:
            x0 = x0.clamp(-1.0, 1.0)
            eps = process.eps_from_x0(x_t, y, x0, t)
        return DenoiserOutput(x0=x0, eps=eps, raw=raw)
