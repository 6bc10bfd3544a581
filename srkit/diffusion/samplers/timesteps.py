"""Which timestep indices a sampler visits (0-based indices, see ``processes/base.py``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from srkit.diffusion.processes.base import AffineCoefs, DiffusionProcess
from srkit.errors import UsageError

SPACINGS = ("uniform", "logsnr", "trailing")


def _round_half_up(values: np.ndarray) -> list[int]:
    return [int(v) for v in np.floor(values + 0.5)]


def linspace_timesteps(first: int, last: int, count: int) -> list[int]:
    """``count`` indices evenly spaced from ``first`` to ``last`` (both included), rounded half up.

    ``count = 1`` gives ``[first]``. Needs ``count <= |first - last| + 1`` so none repeats.
    """
    if count < 1 or count > abs(first - last) + 1:
        raise UsageError(f"cannot place {count} distinct steps between timesteps {first} and {last}")
    return _round_half_up(np.linspace(first, last, count))


def parse_sections(sections: str | Sequence[int]) -> list[int]:
    """``"45,20,15,10,10"`` -> ``[45, 20, 15, 10, 10]`` (positive integers)."""
    if isinstance(sections, str):
        parts = [p.strip() for p in sections.split(",")]
        if not all(p.isdigit() for p in parts):
            raise UsageError(f"sections must be positive integers like '45,20,15,10,10', got {sections!r}")
        counts = [int(p) for p in parts]
    else:
        counts = [int(c) for c in sections]
    if not counts or min(counts) < 1:
        raise UsageError(f"sections must be positive integers like '45,20,15,10,10', got {sections!r}")
    return counts


def spaced_timesteps(T: int, sections: str | Sequence[int]) -> list[int]:
    """Improved-DDPM respacing (Nichol & Dhariwal 2021, §4): descending kept indices.

    ``[0, T)`` is cut into ``len(sections)`` near-equal parts (the first ones one longer
    when ``T`` does not divide) and part ``i`` keeps ``sections[i]`` evenly spaced indices,
    both ends included. One section of ``N`` steps is the uniform grid
    ``round(linspace(0, T-1, N))``. A part keeping one index keeps its *last* one (the
    reference keeps the first), so ``N = 1`` starts at ``T - 1`` from pure noise.
    """
    counts = parse_sections(sections)
    base, extra = divmod(T, len(counts))
    kept: list[int] = []
    start = 0
    for i, count in enumerate(counts):
        size = base + (1 if i < extra else 0)
        if count > size:
            raise UsageError(f"section {i} of T={T} has {size} timesteps, cannot keep {count}; use fewer steps")
        kept += [start + k for k in linspace_timesteps(0, size - 1, count)] if count > 1 else [start + size - 1]
        start += size
    return sorted(kept, reverse=True)


def uniform_timesteps(T: int, steps: int) -> list[int]:
    """``steps`` descending indices spread over ``[0, T)``, from ``T - 1`` down to ``0`` (one section)."""
    check_steps(steps, T)
    return spaced_timesteps(T, [steps])


def log_snr_timesteps(log_snr: np.ndarray, steps: int) -> list[int]:
    """``steps`` descending indices from ``T - 1`` to ``0`` evenly spaced in ``lambda = log(alpha/sigma)``.

    ``log_snr[t]`` is ``lambda`` at index ``t`` (decreasing in ``t``). Each target ``lambda`` is
    snapped to the nearest index, then indices are nudged to stay distinct where the
    schedule has fewer indices than targets (near ``t = 0``). This is DPM-Solver's
    ``logSNR`` spacing (Lu et al. 2022, §3.3), recommended for pixel-space models.
    """
    T = len(log_snr)
    check_steps(steps, T)
    if steps == 1:
        return [T - 1]
    targets = np.linspace(log_snr[-1], log_snr[0], steps)
    ascending_lam = log_snr[::-1]  # increasing, position p is index T - 1 - p
    positions = np.clip(np.searchsorted(ascending_lam, targets), 1, T - 1)
    closer_left = (targets - ascending_lam[positions - 1]) < (ascending_lam[positions] - targets)
    indices = [int(T - 1 - p) for p in positions - closer_left]
    indices[0], indices[-1] = T - 1, 0
    for k in range(steps - 2, -1, -1):  # strictly above the next index
        indices[k] = max(indices[k], indices[k + 1] + 1)
    return [min(index, T - 1 - k) for k, index in enumerate(indices)]  # stays decreasing, within range


def log_snr(coefs: AffineCoefs) -> float:
    """``lambda = log(c_x0 / c_eps)``, i.e. ``log(alpha / sigma)`` for VP (half the log-SNR)."""
    return math.log(coefs.x0 / coefs.eps)


def spaced_solver_timesteps(process: DiffusionProcess, steps: int, spacing: str) -> list[int]:
    """``steps`` descending indices from ``T - 1`` for a solver whose last step goes to the clean data.

    - ``"uniform"``: even in the index, down to ``0`` (:func:`uniform_timesteps`);
    - ``"logsnr"``: even in ``lambda``, down to ``0`` (:func:`log_snr_timesteps`);
    - ``"trailing"``: even in the papers' time with the clean data as the end point, so no call
      is spent at index ``0`` (:func:`trailing_timesteps`; diffusers' ``timestep_spacing="trailing"``,
      Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed", Table 2).
    """
    if spacing == "uniform":
        return uniform_timesteps(process.T, steps)
    if spacing == "logsnr":
        return log_snr_timesteps(np.array([log_snr(process.coef(t)) for t in range(process.T)]), steps)
    if spacing == "trailing":
        return trailing_timesteps(process.T - 1, steps)
    raise UsageError(f"unknown timestep spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")


def trailing_timesteps(start: int, steps: int) -> list[int]:
    """``steps`` descending indices from ``start``, evenly spaced in the papers' time down to clean data.

    Paper times ``linspace(start + 1, 0, steps + 1)`` without the final 0 (the clean target),
    minus one: e.g. ``start = 498, steps = 5`` gives ``[498, 398, 298, 199, 99]``. Used by
    solvers whose last step lands on the clean data (DoS-SDE; DDIM and DPM-Solver++ with
    ``spacing="trailing"``, where ``start = T - 1`` gives diffusers' trailing grid).
    """
    check_steps(steps, start + 1)
    times = np.linspace(start + 1, 0, steps + 1)[:-1]
    return [t - 1 for t in _round_half_up(times)]


def fraction_to_index(fraction: float, T: int) -> int:
    """The index of paper step ``round(fraction * T)`` (e.g. CCSR's ``t_max = 2T/3``), within ``[0, T)``."""
    return min(max(math.floor(fraction * T + 0.5) - 1, 0), T - 1)


def check_steps(steps: int, limit: int) -> None:
    """Raise a :class:`UsageError` unless ``1 <= steps <= limit``."""
    if not 1 <= steps <= limit:
        raise UsageError(f"steps must lie in [1, {limit}] for this process and sampler, got {steps}")
