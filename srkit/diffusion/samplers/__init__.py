"""Samplers: one plain function per file, ``sample_x(denoiser, process, y, *, ..., noise, generator, callback)``.

Each returns a :class:`SampleResult` (``x0``, exact ``nfe``). :data:`SAMPLERS` maps
recipe names to the function and what it supports; the callback protocol is in
:mod:`srkit.diffusion.samplers.common`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from srkit.diffusion.samplers.ccsr import sample_ccsr
from srkit.diffusion.samplers.common import SampleResult, StepCallback
from srkit.diffusion.samplers.ddim import sample_ddim
from srkit.diffusion.samplers.ddpm import sample_ddpm
from srkit.diffusion.samplers.dos_sde import sample_dos_sde
from srkit.diffusion.samplers.dpm_solver import sample_dpm_solver
from srkit.diffusion.samplers.resshift import sample_resshift
from srkit.errors import UsageError


@dataclass(frozen=True)
class SamplerSpec:
    """A sampler and its contract.

    ``options``: the keyword settings it takes besides noise/generator/callback.
    ``deterministic``: ``"always"``, ``"never"`` or ``"eta0"`` (only with ``eta = 0``);
    a deterministic sampler maps a starting noise to one output (find-bc needs this).
    """

    name: str
    fn: Callable[..., SampleResult]
    processes: tuple[str, ...]
    options: tuple[str, ...]
    deterministic: str
    orders: tuple[int, ...] = (1,)
    summary: str = ""

    def is_deterministic(self, eta: float = 0.0) -> bool:
        """Whether this sampler is deterministic given the starting noise."""
        return self.deterministic == "always" or (self.deterministic == "eta0" and eta == 0.0)


SAMPLERS: dict[str, SamplerSpec] = {
    spec.name: spec
    for spec in (
        SamplerSpec(
            "ddpm", sample_ddpm, ("vp",), ("steps", "sections", "clip_x0"), "never",
            summary="DDPM ancestral, respaced to N steps or sections like '45,20,15,10,10'",
        ),
        SamplerSpec(
            "ddim", sample_ddim, ("vp",), ("steps", "eta", "clip_x0", "spacing"), "eta0",
            summary="DDIM; eta=0 is the deterministic ODE sampler",
        ),
        SamplerSpec(
            "dpm_solver", sample_dpm_solver, ("vp",), ("steps", "order", "clip_x0", "spacing"), "always", (1, 2, 3),
            summary="DPM-Solver++ multistep (deterministic), orders 1-3",
        ),
        SamplerSpec(
            "resshift", sample_resshift, ("resshift",), ("steps", "clip_x0"), "never",
            summary="ResShift reverse chain (steps <= T)",
        ),
        SamplerSpec(
            "dos_sde", sample_dos_sde, ("dossr",), ("steps", "order", "clip_x0"), "never", (1, 2, 3),
            summary="DoSSR DoS-SDE solver from t1, orders 1-3",
        ),
        SamplerSpec(
            "ccsr", sample_ccsr, ("vp",), ("steps", "t_max", "t_min", "clip_x0"), "never",
            summary="CCSR truncated non-uniform sampling; NFE = 1 + steps",
        ),
    )
}


def get_sampler(name: str) -> SamplerSpec:
    """The :class:`SamplerSpec` called ``name``; a :class:`UsageError` naming the choices otherwise."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise UsageError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}") from None


def samplers_for(process_kind: str) -> list[str]:
    """Names of the samplers that can walk back ``process_kind``, in registry order."""
    return [name for name, spec in SAMPLERS.items() if process_kind in spec.processes]


__all__ = [
    "SAMPLERS",
    "SampleResult",
    "SamplerSpec",
    "StepCallback",
    "get_sampler",
    "samplers_for",
    "sample_ccsr",
    "sample_ddim",
    "sample_ddpm",
    "sample_dos_sde",
    "sample_dpm_solver",
    "sample_resshift",
]
