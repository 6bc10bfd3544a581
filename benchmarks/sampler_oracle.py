"""srkit's deterministic samplers against diffusers' on an exact Gaussian oracle.

    python benchmarks/sampler_oracle.py                      # the table of README "Engine" and RESULTS.md
    python benchmarks/sampler_oracle.py --schedule sr3 --steps 5 10 20 50 --out benchmarks/sampler-oracle-sr3.json

Data distribution: independent components ``x0_i ~ N(mu_i, sd_i^2)`` with ``sd_i`` log-spaced
from 0.01 to 1 (an image-like spectrum: a Gaussian image model is independent components in
its eigenbasis) and means in [-0.5, 0.5]. For it the exact data prediction of a VP process is
closed form, ``E[x0 | x_t] = mu + a sd^2 / (a^2 sd^2 + s^2) (x_t - a mu)`` with ``a = sqrt(ab_t)``,
``s = sqrt(1 - ab_t)``, and so is the probability-flow ODE's map from ``x_T`` at index ``T - 1``
to the clean data, ``x0 = mu + sd (x_T - a_T mu) / sqrt(a_T^2 sd^2 + s_T^2)`` (the ODE keeps the
standardised value). A sampler's error is the RMS distance of its output to that map over all
components and start noises: the discretisation error alone, with a perfect network.

diffusers runs the same process (its ``alphas_cumprod`` replaced by the float64 ones srkit uses)
with ``timestep_spacing="trailing"``: ``DDIMScheduler`` (eta 0, ``set_alpha_to_one``) and
``DPMSolverMultistepScheduler`` (DPM-Solver++, its defaults: 2M midpoint, ``lower_order_final``,
final sigma zero; the DPM scheduler computes in float32 by design). srkit runs in float64.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.processes import VPProcess
from srkit.diffusion.samplers import sample_ddim, sample_dpm_solver
from srkit.diffusion.schedules import make_betas

SCHEDULES = {  # name: (T, beta_start, beta_end)
    "default": (1000, 1e-4, 0.02),  # DDPM / diffusers' default linear schedule
    "sr3": (2000, 1e-6, 1e-2),  # the sr3 recipes (and the built-in sr3)
}
STEPS = (5, 10, 20, 50)


@dataclass(frozen=True)
class GaussianOracle:
    """Exact denoiser and exact ODE map for components ``N(mu_i, sd_i^2)`` laid out along dim 2 of ``(1, 1, C, D)``."""

    process: VPProcess
    mu: Tensor  # (1, 1, C, 1)
    sd: Tensor

    @classmethod
    def image_like(cls, process: VPProcess, components: int = 32) -> GaussianOracle:
        sd = torch.logspace(-2, 0, components, dtype=torch.float64)
        mu = torch.linspace(-0.5, 0.5, components, dtype=torch.float64)
        return cls(process, mu.reshape(1, 1, -1, 1), sd.reshape(1, 1, -1, 1))

    def _ab(self, t: Tensor | int) -> float:
        return self.process.alpha_bar(int(t[0]) if isinstance(t, Tensor) else int(t))

    def x0(self, x_t: Tensor, t: Tensor | int) -> Tensor:
        """``E[x0 | x_t]`` at index ``t`` (the same for every batch entry)."""
        ab = self._ab(t)
        a, s2 = math.sqrt(ab), 1.0 - ab
        mu, sd = self.mu.to(x_t.dtype), self.sd.to(x_t.dtype)
        return mu + a * sd**2 / (a * a * sd**2 + s2) * (x_t - a * mu)

    def net(self, x_in: Tensor, y: Tensor, t: Tensor) -> Tensor:
        """srkit's network convention (x0 prediction; VP does not scale its input)."""
        return self.x0(x_in, t)

    def exact(self, x_T: Tensor) -> Tensor:
        """The probability-flow ODE's clean endpoint from ``x_T`` at index ``T - 1``."""
        ab = self.process.alpha_bar(self.process.T - 1)
        a = math.sqrt(ab)
        return self.mu + self.sd * (x_T - a * self.mu) / torch.sqrt(ab * self.sd**2 + 1.0 - ab)

    def start_noise(self, draws: int, seed: int = 0) -> Tensor:
        return torch.randn(1, 1, self.mu.shape[2], draws, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def vp_process(schedule: str) -> VPProcess:
    T, start, end = SCHEDULES[schedule]
    return VPProcess(make_betas("linear", T, start, end))


def rms(a: Tensor, b: Tensor) -> float:
    return float(torch.sqrt(torch.mean((a.double() - b.double()) ** 2)))


def srkit_error(oracle: GaussianOracle, noise: Tensor, sampler: str, steps: int, **options: object) -> float:
    """RMS error of srkit's ``ddim`` (eta 0) or ``dpm_solver`` against the exact map."""
    fn = {"ddim": sample_ddim, "dpm_solver": sample_dpm_solver}[sampler]
    denoiser = Denoiser(oracle.net, oracle.process, "x0")
    out = fn(denoiser, oracle.process, torch.zeros_like(noise), steps=steps, noise=noise, clip_x0=False, **options)
    assert out.nfe == steps
    return rms(out.x0, oracle.exact(noise))


def _diffusers_scheduler(kind: str, process: VPProcess, order: int):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    common = {"num_train_timesteps": process.T, "trained_betas": process.betas.tolist(), "timestep_spacing": "trailing",
              "prediction_type": "sample"}
    if kind == "ddim":
        scheduler = DDIMScheduler(clip_sample=False, set_alpha_to_one=True, steps_offset=0, **common)
    else:
        scheduler = DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=order, thresholding=False, **common)
    scheduler.alphas_cumprod = torch.from_numpy(process.alphas_cumprod.copy())  # the exact float64 table srkit uses
    return scheduler


def diffusers_error(oracle: GaussianOracle, noise: Tensor, sampler: str, steps: int, order: int = 2) -> float:
    """RMS error of diffusers' ``DDIMScheduler`` or ``DPMSolverMultistepScheduler`` (trailing) on the same oracle."""
    scheduler = _diffusers_scheduler(sampler, oracle.process, order)
    scheduler.set_timesteps(steps)
    x = noise.clone()
    for t in scheduler.timesteps:
        x0 = oracle.x0(x, int(t))
        x = scheduler.step(x0, t, x, eta=0.0).prev_sample if sampler == "ddim" else scheduler.step(x0, t, x).prev_sample
    return rms(x, oracle.exact(noise))


Row = tuple[str, Callable[[GaussianOracle, Tensor, int], float]]


def rows() -> list[Row]:
    """Every configuration in the table: srkit's defaults first, then the alternatives, then diffusers."""

    def srkit(sampler: str, **options: object) -> Callable[[GaussianOracle, Tensor, int], float]:
        return lambda oracle, noise, steps: srkit_error(oracle, noise, sampler, steps, **options)

    def diffusers(sampler: str, order: int = 2) -> Callable[[GaussianOracle, Tensor, int], float]:
        return lambda oracle, noise, steps: diffusers_error(oracle, noise, sampler, steps, order)

    table: list[Row] = [("srkit ddim (default)", srkit("ddim"))]
    table += [(f"srkit ddim spacing={s}", srkit("ddim", spacing=s)) for s in ("uniform", "logsnr", "trailing")]
    table += [("diffusers DDIM trailing", diffusers("ddim"))]
    table += [("srkit dpm_solver order 2 (default)", srkit("dpm_solver", order=2))]
    for spacing in ("logsnr", "uniform", "trailing"):
        for solver in ("midpoint", "heun"):
            for lof in (True, False):
                label = f"srkit dpm_solver 2 {solver} spacing={spacing}" + ("" if lof else " no-lower-order-final")
                table.append((label, srkit("dpm_solver", order=2, spacing=spacing, solver_type=solver, lower_order_final=lof)))
    table += [("diffusers DPM-Solver++ 2M trailing", diffusers("dpm_solver", 2))]
    table += [("srkit dpm_solver order 3 (default spacing)", srkit("dpm_solver", order=3))]
    for spacing in ("logsnr", "uniform", "trailing"):
        for lof in (True, False):
            label = f"srkit dpm_solver 3 spacing={spacing}" + ("" if lof else " no-lower-order-final")
            table.append((label, srkit("dpm_solver", order=3, spacing=spacing, lower_order_final=lof)))
    table += [("diffusers DPM-Solver++ 3M trailing", diffusers("dpm_solver", 3))]
    return table


def measure(schedule: str, steps: Sequence[int], components: int = 32, draws: int = 128) -> dict[str, dict[int, float]]:
    """``{row label: {steps: RMS error}}`` on one schedule."""
    oracle = GaussianOracle.image_like(vp_process(schedule), components)
    noise = oracle.start_noise(draws)
    return {label: {n: fn(oracle, noise, n) for n in steps} for label, fn in rows()}


def markdown(results: dict[str, dict[int, float]], steps: Sequence[int]) -> str:
    lines = ["| sampler | " + " | ".join(f"{n} steps" for n in steps) + " |", "| --- |" + " ---: |" * len(steps)]
    lines += [f"| {label} | " + " | ".join(f"{errors[n]:.3g}" for n in steps) + " |" for label, errors in results.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), default="default")
    parser.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    args = parser.parse_args()
    started = time.perf_counter()
    results = measure(args.schedule, args.steps)
    T, start, end = SCHEDULES[args.schedule]
    print(f"RMS error against the exact ODE map, VP linear betas {start:g}..{end:g}, T={T} "
          f"({time.perf_counter() - started:.1f} s)\n")
    print(markdown(results, args.steps))
    if args.out:
        args.out.write_text(json.dumps({"schedule": args.schedule, "T": T, "beta_start": start, "beta_end": end,
                                        "errors": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
