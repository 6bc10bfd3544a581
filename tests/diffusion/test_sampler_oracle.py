"""The deterministic samplers on an exact Gaussian oracle: srkit's defaults against diffusers, the solvers'
orders, and Algorithm 2 of DPM-Solver++ by hand (benchmarks/sampler_oracle.py has the full table)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.processes import VPProcess
from srkit.diffusion.samplers import sample_ddim, sample_dpm_solver
from srkit.diffusion.samplers.dpm_solver import step_orders
from srkit.diffusion.samplers.timesteps import log_snr, spaced_solver_timesteps

from .helpers import GaussianDataNet, OracleNet, vp
from .test_samplers import SHAPE, _data, _gaussian_ode_reference

pytest.importorskip("diffusers")
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sampler_oracle.py"
_spec = importlib.util.spec_from_file_location("benchmarks_sampler_oracle", BENCH)
oracle_bench = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(oracle_bench)  # type: ignore[union-attr]


@pytest.fixture(scope="module", params=["default", "sr3"])
def oracle(request):
    return oracle_bench.GaussianOracle.image_like(oracle_bench.vp_process(request.param), components=16)


@pytest.mark.parametrize("steps", oracle_bench.STEPS)
def test_default_samplers_are_at_most_as_wrong_as_diffusers_trailing_on_the_gaussian_oracle(oracle, steps):
    noise = oracle.start_noise(24)
    ddim, ddim_ref = oracle_bench.srkit_error(oracle, noise, "ddim", steps), oracle_bench.diffusers_error(oracle, noise, "ddim", steps)
    dpm = oracle_bench.srkit_error(oracle, noise, "dpm_solver", steps, order=2)
    dpm_ref = oracle_bench.diffusers_error(oracle, noise, "dpm_solver", steps, 2)
    assert ddim <= ddim_ref * (1 + 1e-9)
    assert dpm <= dpm_ref * 1.01


def test_ddim_is_uniform_spacing_less_accurate_than_the_trailing_default_at_five_steps(oracle):
    noise = oracle.start_noise(24)
    uniform = oracle_bench.srkit_error(oracle, noise, "ddim", 5, spacing="uniform")
    assert oracle_bench.srkit_error(oracle, noise, "ddim", 5) < uniform / 1.1


@pytest.mark.parametrize("T", [1000, 2000])
@pytest.mark.parametrize("steps", [5, 10, 20, 50])
def test_trailing_spacing_visits_diffusers_trailing_timesteps(T, steps):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    process = vp(T)
    ours = spaced_solver_timesteps(process, steps, "trailing")
    for scheduler in (DDIMScheduler(num_train_timesteps=T, timestep_spacing="trailing"),
                      DPMSolverMultistepScheduler(num_train_timesteps=T, timestep_spacing="trailing")):
        scheduler.set_timesteps(steps)
        assert ours == scheduler.timesteps.tolist()
    x0, y = _data()
    net = OracleNet(process, x0, "eps")
    sample_ddim(Denoiser(net, process, "eps"), process, y, steps=steps)
    assert net.timesteps == ours and ours[-1] == T // steps - 1  # no call spent at index 0


@pytest.mark.parametrize("sampler, order", [("ddim", 1), ("dpm_solver", 2)])
def test_trailing_srkit_equals_diffusers_step_for_step_on_the_oracle(oracle, sampler, order):
    noise = oracle.start_noise(8)
    for steps in (5, 20):
        options = {"spacing": "trailing"} | ({"order": order} if sampler == "dpm_solver" else {})
        ours = oracle_bench.srkit_error(oracle, noise, sampler, steps, **options)
        theirs = oracle_bench.diffusers_error(oracle, noise, sampler, steps, order)
        assert ours == pytest.approx(theirs, rel=1e-9 if sampler == "ddim" else 2e-3)  # diffusers' DPM runs in float32


def _fine_vp(T: int = 4000) -> VPProcess:
    """DDPM's linear schedule on a finer index grid, so lambda-even grids are hardly snapped."""
    return VPProcess(np.linspace(1e-4 * 1000 / T, 0.02 * 1000 / T, T))


def test_dpm_solver_orders_converge_at_their_rates_and_the_2m_form_beats_heun():
    process, mu, sd = _fine_vp(), 0.3, 0.5
    noise = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.zeros_like(noise)
    reference = _gaussian_ode_reference(process, noise, mu, sd)
    errors = {}
    for order, form in [(1, "midpoint"), (2, "midpoint"), (2, "heun"), (3, "midpoint")]:
        for steps in (20, 40, 80):
            denoiser = Denoiser(GaussianDataNet(process, mu, sd), process, "x0")
            out = sample_dpm_solver(denoiser, process, y, steps=steps, order=order, solver_type=form, noise=noise, clip_x0=False).x0
            errors[order, form, steps] = (out - reference).abs().max().item()
    rate = {key: math.log2(errors[(*key, 40)] / errors[(*key, 80)]) for key in [(1, "midpoint"), (2, "midpoint"), (2, "heun"), (3, "midpoint")]}
    assert rate[1, "midpoint"] == pytest.approx(1.0, abs=0.1)
    assert rate[2, "midpoint"] == pytest.approx(2.0, abs=0.2) and rate[2, "heun"] == pytest.approx(2.0, abs=0.2)
    assert rate[3, "midpoint"] > 2.7
    for steps in (40, 80):  # the 2M form of Algorithm 2 is the more accurate second-order one here
        assert errors[2, "midpoint", steps] < errors[2, "heun", steps] / 1.5


def test_dpm_solver_order2_is_algorithm_2_by_hand():
    """Algorithm 2 (DPM-Solver++(2M)): after the first-order step, D_i = (1 + 1/(2 r_i)) m_{i-1} - 1/(2 r_i) m_{i-2}
    and x_i = (sigma_i/sigma_{i-1}) x_{i-1} - alpha_i (e^{-h_i} - 1) D_i; the last step returns the last estimate."""
    process = vp()
    values = [torch.full(SHAPE, v) for v in (0.9, -0.4, 0.3)]
    calls = []

    def net(x_in, y, t):  # an x0 network whose estimates ignore x
        calls.append(int(t[0]))
        return values[len(calls) - 1]

    x_T = torch.randn(SHAPE, generator=torch.Generator().manual_seed(4))
    states = []
    sample_dpm_solver(Denoiser(net, process, "x0"), process, torch.zeros(SHAPE), steps=3, noise=x_T, clip_x0=False,
                      spacing="trailing", callback=lambda info: states.append(info["x"]))
    c = [process.coef(t) for t in calls]
    lam = [log_snr(k) for k in c]
    x1 = (c[1].eps / c[0].eps) * x_T - c[1].x0 * math.expm1(-(lam[1] - lam[0])) * values[0]
    h, r = lam[2] - lam[1], (lam[1] - lam[0]) / (lam[2] - lam[1])
    D = (1 + 1 / (2 * r)) * values[1] - 1 / (2 * r) * values[0]
    x2 = (c[2].eps / c[1].eps) * x1 - c[2].x0 * math.expm1(-h) * D
    torch.testing.assert_close(states[0], x1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(states[1], x2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(states[2], values[2], rtol=0, atol=0)


def test_lower_order_final_takes_wide_intervals_at_first_order_only():
    process = vp()
    lams = lambda spacing, steps: [log_snr(process.coef(t)) for t in spaced_solver_timesteps(process, steps, spacing)]
    assert step_orders(lams("uniform", 5), 2) == [1, 2, 2, 1, 2]  # 250 -> 0 is 3.5x wider than 500 -> 250
    assert step_orders(lams("uniform", 5), 2, lower_order_final=False) == [1, 2, 2, 2, 2]
    assert step_orders(lams("logsnr", 20), 3) == [1, 2] + [3] * 18  # even in lambda: nothing is wide
    assert step_orders(lams("trailing", 10), 3) == [1, 2] + [3] * 8  # the last step (to clean data) returns the estimate


def test_lower_order_final_rescues_the_wide_last_interval_of_the_uniform_grid(oracle):
    noise = oracle.start_noise(24)
    for steps in (10, 20):
        wide = oracle_bench.srkit_error(oracle, noise, "dpm_solver", steps, order=3, spacing="uniform", lower_order_final=False)
        assert oracle_bench.srkit_error(oracle, noise, "dpm_solver", steps, order=3, spacing="uniform") < wide / 2
