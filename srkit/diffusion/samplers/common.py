"""What every sampler shares: its result, the per-step callback, start noise and argument checks.

Callback protocol: after each network evaluation a sampler calls
``callback({"i": i, "total": total, "t": t, "x": x, "x0_hat": x0_hat})`` with ``i``
counting evaluations from 0, ``total`` the planned number, ``t`` the timestep index
just evaluated, ``x`` the state after the step and ``x0_hat`` the current data
estimate. Returning ``True`` stops sampling: the result then holds that ``x0_hat``
with ``stopped=True`` and the NFE spent so far.

Samplers run under ``torch.no_grad()`` and in the dtype of ``y`` (the model's dtype);
schedule coefficients are float64 Python numbers applied to those tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.noise import Noise, default_generator, randn_like
from srkit.diffusion.processes.base import DiffusionProcess
from srkit.errors import UsageError

StepCallback = Callable[[Mapping[str, Any]], "bool | None"]


@dataclass(frozen=True)
class SampleResult:
    """The sampled clean image (or latent), the exact number of network calls, and whether a callback stopped it."""

    x0: Tensor
    nfe: int
    stopped: bool = False


def check_process(sampler: str, process: DiffusionProcess, kinds: Sequence[str]) -> None:
    """Raise a :class:`UsageError` unless ``process.kind`` is one of ``kinds``."""
    if process.kind not in kinds:
        raise UsageError(f"sampler {sampler!r} works with the {'/'.join(kinds)} process, not {process.kind!r}")


def check_order(sampler: str, order: int, orders: Sequence[int]) -> None:
    """Raise a :class:`UsageError` unless ``order`` is supported."""
    if order not in orders:
        raise UsageError(f"sampler {sampler!r} supports orders {', '.join(map(str, orders))}, got {order}")


def start_state(
    process: DiffusionProcess, y: Tensor, noise: Tensor | None, generator: Noise
) -> Tensor:
    """``process.prior_sample(y, noise)``, drawing ``noise`` from ``generator`` unless given (shape of ``y``)."""
    if noise is None:
        noise = randn_like(y, generator)
    elif noise.shape != y.shape:
        raise UsageError(f"starting noise has shape {tuple(noise.shape)}, expected {tuple(y.shape)} (that of x_T)")
    return process.prior_sample(y, noise.to(device=y.device, dtype=y.dtype))


def timestep(t: int, like: Tensor) -> Tensor:
    """The index ``t`` repeated over the batch of ``like``, as a long tensor."""
    return torch.full((like.shape[0],), t, dtype=torch.long, device=like.device)


class Run:
    """Book-keeping for one sampling call: generator, NFE baseline, callback."""

    def __init__(
        self,
        denoiser: Denoiser,
        total: int,
        generator: Noise | None,
        callback: StepCallback | None,
    ) -> None:
        self.denoiser = denoiser
        self.total = total
        self.generator = default_generator(generator)
        self.callback = callback
        self._nfe_at_start = denoiser.nfe

    @property
    def nfe(self) -> int:
        """Network calls made since this run began."""
        return self.denoiser.nfe - self._nfe_at_start

    def step_done(self, i: int, t: int, x: Tensor, x0_hat: Tensor) -> bool:
        """Report step ``i`` to the callback (module docstring); ``True`` if it asked to stop."""
        if self.callback is None:
            return False
        return bool(self.callback({"i": i, "total": self.total, "t": t, "x": x, "x0_hat": x0_hat}))

    def result(self, x0: Tensor, stopped: bool = False) -> SampleResult:
        """The run's :class:`SampleResult`."""
        return SampleResult(x0=x0, nfe=self.nfe, stopped=stopped)
