"""The official ResShift sampling procedure, on srkit's ResShift process and ancestral chain.

Official ``GaussianDiffusion.p_sample_loop`` (``zsyOAOA/ResShift``, journal branch),
as described in fixtures/official/README.md (``resshift_sample``):

- schedule: ResShift eq. (9)-(10) with the code's first level
  ``sqrt(eta_1) = min(min_noise_level/kappa, min_noise_level)`` and ``sqrt(eta_T) = 0.99``
  (:class:`~srkit.diffusion.processes.resshift.ResShiftProcess` with ``eta_1_rule="official"``);
- start: ``x_T = z_y + kappa sqrt(eta_T) eps`` (the first draw);
- each step: the network sees ``x_t / sqrt(kappa^2 eta_t + 1)`` and the integer ``t`` and
  predicts ``x0`` (no clipping); ``x_{t-1} ~ q(x_{t-1} | x_t, x0)`` (ResShift eq. (7));
- one draw per step *including* ``t = 0``, where it is multiplied by 0: srkit's chain
  does not draw there, so :func:`sample_official` draws it afterwards to keep the order.

This is srkit's own :func:`~srkit.diffusion.samplers.resshift.sample_resshift`; only the
discarded final draw is added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise, default_generator, randn_like
from srkit.diffusion.processes.resshift import ResShiftProcess
from srkit.diffusion.samplers.common import SampleResult, StepCallback
from srkit.diffusion.samplers.resshift import sample_resshift

UNetFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class OfficialSchedule:
    """The ``diffusion`` block of an official ResShift config (exponential schedule, x0 prediction)."""

    steps: int
    min_noise_level: float
    kappa: float = 2.0
    power: float = 0.3
    etas_end: float = 0.99
    scale_factor: float = 1.0

    def process(self) -> ResShiftProcess:
        """srkit's ResShift process with these values (``etas_end`` is ``sqrt(eta_T)``)."""
        return ResShiftProcess(
            T=self.steps,
            kappa=self.kappa,
            power=self.power,
            min_noise_level=self.min_noise_level,
            eta_T=self.etas_end**2,
            eta_1_rule="official",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OfficialSchedule:
        return cls(**data)


def official_arrays(process: ResShiftProcess) -> dict[str, np.ndarray]:
    """The official code's float64 schedule arrays, written from srkit's process (ResShift eq. (7)).

    ``etas_prev`` shifts ``etas`` by one with 0 first; ``alpha = etas - etas_prev``; the posterior
    variance is ``kappa^2 etas_prev / etas * alpha``, its clipped form repeats entry 1 at 0.
    """
    etas = process.etas
    etas_prev = np.append(0.0, etas[:-1])
    alpha = etas - etas_prev
    variance = process.kappa**2 * etas_prev / etas * alpha
    clipped = np.append(variance[1], variance[1:])
    return {
        "sqrt_etas": process.sqrt_etas,
        "etas": etas,
        "etas_prev": etas_prev,
        "alpha": alpha,
        "posterior_variance": variance,
        "posterior_variance_clipped": clipped,
        "posterior_log_variance_clipped": np.log(clipped),
        "posterior_mean_coef1": etas_prev / etas,
        "posterior_mean_coef2": alpha / etas,
        "timestep_map": np.arange(process.T, dtype=np.int64),
    }


@torch.no_grad()
def sample_official(
    unet: UNetFn,
    process: ResShiftProcess,
    z_y: Tensor,
    *,
    noise: Tensor | None = None,
    generator: Noise | None = None,
    callback: StepCallback | None = None,
) -> SampleResult:
    """Run the official chain from ``z_y`` (the encoded upsampled LR); ``unet(x_in, t)`` predicts ``x0``.

    ``noise`` is the start noise (else drawn first from ``generator``); the generator then
    gives one draw per step, the last one discarded, exactly in the official order.
    """
    generator = default_generator(generator)
    denoiser = Denoiser(lambda x_in, _y, t: unet(x_in, t.long()), process, prediction="x0")
    result = sample_resshift(denoiser, process, z_y, noise=noise, generator=generator, callback=callback, clip_x0=False)
    if not result.stopped:
        randn_like(z_y, generator)  # the official t = 0 draw, multiplied by 0 there
    return result
