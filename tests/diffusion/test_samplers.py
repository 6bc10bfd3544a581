import math

import pytest
import torch

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.samplers import (
    SAMPLERS,
    get_sampler,
    sample_ccsr,
    sample_ddim,
    sample_dos_sde,
    sample_dpm_solver,
)
from srkit.errors import UsageError

from .helpers import AffineNet, GaussianDataNet, OracleNet, dossr, resshift, vp

PROCESSES = {"vp": vp(), "resshift": resshift(), "dossr": dossr()}
SHAPE = (2, 3, 8, 8)


def _data(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.rand(SHAPE, generator=gen) * 2 - 1
    y = torch.rand(SHAPE, generator=gen) * 2 - 1
    return x0, y


ORACLE_CASES = (
    [("ddpm", {"steps": n}, n) for n in (1, 25)]
    + [("ddpm", {"sections": "10,5,3,1,1"}, 20)]
    + [("ddim", {"steps": n, "eta": eta}, n) for n in (1, 20) for eta in (0.0, 1.0)]
    + [("dpm_solver", {"steps": n, "order": k}, n) for n in (1, 2, 5, 20) for k in (1, 2, 3)]
    + [("resshift", {"steps": n}, n) for n in (1, 4, 15)]
    + [("dos_sde", {"steps": n, "order": k}, n) for n in (1, 2, 5, 12) for k in (1, 2, 3)]
    + [("ccsr", {"steps": n}, n + 1) for n in (1, 15)]
)


@pytest.mark.parametrize("prediction", ["eps", "x0", "vp_eps"])
@pytest.mark.parametrize("name, options, nfe", ORACLE_CASES)
def test_every_sampler_returns_x0_exactly_for_an_oracle_and_reports_its_nfe(name, options, nfe, prediction):
    spec = get_sampler(name)
    process = PROCESSES[spec.processes[0]]
    x0, y = _data()
    net = OracleNet(process, x0, prediction)
    generator = torch.Generator().manual_seed(5)
    result = spec.fn(Denoiser(net, process, prediction), process, y, generator=generator, **options)
    torch.testing.assert_close(result.x0, x0, atol=1e-8, rtol=0)
    assert result.nfe == nfe == len(net.timesteps)
    assert not result.stopped


@pytest.mark.parametrize("name, process, options", [
    ("ddpm", vp(), {"steps": 50}),
    ("dpm_solver", vp(), {"steps": 20, "order": 3}),
    ("resshift", resshift(), {}),
    ("dos_sde", dossr(), {"steps": 5, "order": 3}),
    ("ccsr", vp(schedule="cosine"), {"steps": 15}),  # x0 at t = T divides by sqrt(ab_T) ~ 5e-5
])
def test_samplers_run_in_the_model_dtype_with_schedules_in_float64(name, process, options):
    x0, y = (v.float() for v in _data())
    result = get_sampler(name).fn(Denoiser(OracleNet(process, x0, "eps"), process, "eps"), process, y, **options)
    assert result.x0.dtype == torch.float32
    torch.testing.assert_close(result.x0, x0, atol=1e-5, rtol=0)


@pytest.mark.parametrize("sampler, options", [(sample_ddim, {"eta": 0.0}), (sample_dpm_solver, {"order": 1}),
                                              (sample_dpm_solver, {"order": 2}), (sample_dpm_solver, {"order": 3})])
def test_deterministic_samplers_return_x0_for_any_starting_noise(sampler, options):
    process = vp()
    x0, y = _data()
    for seed, scale in [(1, 1.0), (2, 5.0), (3, 0.0)]:
        noise = scale * torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed))
        denoiser = Denoiser(OracleNet(process, x0, "eps"), process, "eps")
        result = sampler(denoiser, process, y, steps=7, noise=noise, **options)
        torch.testing.assert_close(result.x0, x0, atol=1e-8, rtol=0)


@pytest.mark.parametrize("name", [n for n, s in SAMPLERS.items() if not s.is_deterministic()])
def test_stochastic_samplers_repeat_with_a_seed_and_vary_across_seeds(name):
    spec = get_sampler(name)
    process = PROCESSES[spec.processes[0]]
    _, y = _data()
    options = {"steps": 4, "eta": 1.0} if name == "ddim" else {"steps": 4}

    def run(seed):
        denoiser = Denoiser(AffineNet(), process, "eps")
        return spec.fn(denoiser, process, y, generator=torch.Generator().manual_seed(seed), **options).x0

    assert torch.equal(run(7), run(7))
    assert not torch.allclose(run(7), run(8))


@pytest.mark.parametrize("sampler, options", [(sample_ddim, {}), (sample_dpm_solver, {"order": 3})])
def test_deterministic_samplers_ignore_the_generator_given_the_noise(sampler, options):
    process = vp()
    _, y = _data()
    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    outs = [sampler(Denoiser(AffineNet(), process, "eps"), process, y, steps=6, noise=noise,
                    generator=torch.Generator().manual_seed(s), **options).x0 for s in (1, 2)]
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("spacing", ["uniform", "logsnr"])
def test_ddim_eta0_and_dpm_solver_order1_are_the_same_update(spacing):
    process = vp()
    _, y = _data()
    noise = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    kwargs = {"steps": 9, "noise": noise, "clip_x0": False, "spacing": spacing}
    ddim = sample_ddim(Denoiser(AffineNet(), process, "eps"), process, y, eta=0.0, **kwargs)
    dpm = sample_dpm_solver(Denoiser(AffineNet(), process, "eps"), process, y, order=1, **kwargs)
    torch.testing.assert_close(ddim.x0, dpm.x0, atol=1e-10, rtol=1e-10)


def test_ddim_with_eta_one_is_ddpm_ancestral_sampling_on_the_uniform_grid():
    process = vp()
    _, y = _data()
    kwargs = {"steps": 10, "clip_x0": False}
    ddim = sample_ddim(Denoiser(AffineNet(), process, "eps"), process, y, eta=1.0, spacing="uniform",
                       generator=torch.Generator().manual_seed(3), **kwargs)
    ddpm = get_sampler("ddpm").fn(Denoiser(AffineNet(), process, "eps"), process, y,
                                  generator=torch.Generator().manual_seed(3), **kwargs)
    torch.testing.assert_close(ddim.x0, ddpm.x0, atol=1e-10, rtol=1e-10)


def _gaussian_ode_reference(process, noise, mu, sd):
    """Exact probability-flow ODE for N(mu, sd^2) data, from index T-1 to index 0, then E[x0 | x_0]."""
    first, last = process.coef(process.T - 1), process.coef(0)

    def std(c):
        return math.sqrt(c.c_x0**2 * sd**2 + c.c_eps**2)

    x_last = last.c_x0 * mu + std(last) * (noise - first.c_x0 * mu) / std(first)
    return mu + last.c_x0 * sd**2 / std(last) ** 2 * (x_last - last.c_x0 * mu)


def test_dpm_solver_higher_orders_converge_faster_on_gaussian_data():
    process, mu, sd = vp(), 0.3, 0.5
    noise = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.zeros_like(noise)
    reference = _gaussian_ode_reference(process, noise, mu, sd)
    errors = {}
    for order in (1, 2, 3):
        for steps in (10, 20, 40):
            denoiser = Denoiser(GaussianDataNet(process, mu, sd), process, "x0")
            out = sample_dpm_solver(denoiser, process, y, steps=steps, order=order, noise=noise, clip_x0=False).x0
            errors[order, steps] = (out - reference).abs().max().item()
    rate = {k: math.log2(errors[k, 20] / errors[k, 40]) for k in (1, 2, 3)}
    assert rate[1] == pytest.approx(1.0, abs=0.2)
    assert rate[2] > 1.7 and rate[3] > 2.5
    assert errors[3, 40] < errors[2, 40] < errors[1, 40] / 5


def test_dos_sde_solvers_converge_in_distribution_on_gaussian_data():
    process, mu, sd = dossr(), -0.2, 0.4
    y = torch.full((1, 1, 128, 128), 0.5)
    errors = {}
    for order in (1, 2, 3):
        for steps in (5, 100):
            denoiser = Denoiser(GaussianDataNet(process, mu, sd), process, "x0")
            out = sample_dos_sde(denoiser, process, y, steps=steps, order=order, clip_x0=False,
                                 generator=torch.Generator().manual_seed(order)).x0
            errors[order, steps] = abs(out.mean().item() - mu) + abs(out.std().item() - sd)
    for order in (1, 2, 3):
        assert errors[order, 100] < errors[order, 5] / 3
        assert errors[order, 100] < 0.025
    assert max(errors[2, 100], errors[3, 100]) < errors[1, 100]
    assert errors[3, 5] < errors[1, 5]


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_dos_sde_with_vp_eps_returns_x0_in_float32_on_the_recipe_schedule(steps, order):
    """The dossr recipe's process (sr3's T=2000 schedule): its first step has 1 - eta = 2.5e-6, where
    reading an eps output through eq. (29) divides by a(1 - eta) ~ 7e-7 (float32 rounding alone
    costs ~0.25 at 1 step); the vp_eps reading divides by a_t ~ 0.29 and stays exact."""
    from srkit.diffusion.processes import DoSSRProcess
    from srkit.diffusion.schedules import make_betas

    process = DoSSRProcess(make_betas("linear", 2000, 1e-6, 1e-2))
    x0, y = _data()
    net = OracleNet(process, x0.double(), "vp_eps")
    result = sample_dos_sde(Denoiser(lambda x, yy, t: net(x, yy, t).float(), process, "vp_eps"), process, y,
                            steps=steps, order=order, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(result.x0, x0, atol=2e-6, rtol=0)


def test_dos_sde_never_evaluates_where_eta_is_one():
    process = dossr()
    x0, y = _data()
    net = OracleNet(process, x0, "eps")
    sample_dos_sde(Denoiser(net, process, "eps"), process, y, steps=5, order=3)
    assert net.timesteps == [498, 398, 298, 199, 99]
    assert all(process.etas[t] < 1.0 for t in net.timesteps)


def test_dos_sde_order3_final_step_matches_eqs_47_49_by_hand():
    process = dossr()
    values = [torch.full(SHAPE, v) for v in (0.9, -0.4, 0.3, 0.8, -0.6, 0.1)]
    calls = []

    def net(x_in, y, t):  # an x0-network whose estimates ignore x: the last step then depends on them only
        calls.append(int(t[0]))
        return values[len(calls) - 1]

    _, y = _data()
    result = sample_dos_sde(Denoiser(net, process, "x0"), process, y, steps=6, order=3, clip_x0=False)
    ab, eta = process.alphas_cumprod[calls], process.etas[calls]
    lam = [math.sqrt(1 - a) / (math.sqrt(a) * (1 - e)) for a, e in zip(ab, eta)]
    d1_prev = (values[4] - values[3]) / (lam[4] - lam[3])  # eq. (48)
    d1 = (values[5] - values[4]) / (lam[5] - lam[4])
    d2 = (d1 - d1_prev) / ((lam[5] - lam[3]) / 2)  # eq. (49)
    # eq. (47) at the clean data: g = 1, lam_t = 0, eta_t = 0, no noise.
    expected = values[5] - (lam[5] ** 2 / lam[5]) * d1 + (lam[5] ** 2 / 2) * d2
    torch.testing.assert_close(result.x0, expected, rtol=1e-12, atol=1e-12)


def test_ccsr_jumps_from_T_then_steps_from_t_max_to_t_min():
    process = vp()
    x0, y = _data()
    net = OracleNet(process, x0, "eps")
    result = sample_ccsr(Denoiser(net, process, "eps"), process, y, steps=15, t_max=2 / 3, t_min=1 / 3)
    assert result.nfe == 16
    assert net.timesteps[0] == 999 and net.timesteps[1] == 666 and net.timesteps[-1] == 332
    assert net.timesteps[1:] == sorted(net.timesteps[1:], reverse=True)


def test_callback_sees_each_step_and_can_stop_early():
    process = vp()
    x0, y = _data()
    seen = []

    def callback(info):
        seen.append(info)
        return info["i"] == 2

    net = OracleNet(process, x0, "eps")
    result = sample_dpm_solver(Denoiser(net, process, "eps"), process, y, steps=10, order=2, callback=callback)
    assert result.stopped and result.nfe == 3 == len(seen)
    assert [s["i"] for s in seen] == [0, 1, 2] and all(s["total"] == 10 for s in seen)
    assert seen[0]["t"] == 999 and set(seen[0]) == {"i", "total", "t", "x", "x0_hat"}
    torch.testing.assert_close(result.x0, x0)


@pytest.mark.parametrize("call", [
    lambda d, y: sample_ddim(d, PROCESSES["vp"], y, steps=1001),
    lambda d, y: sample_ddim(d, PROCESSES["vp"], y, steps=0),
    lambda d, y: sample_ddim(d, PROCESSES["vp"], y, steps=5, eta=1.5),
    lambda d, y: sample_dpm_solver(d, PROCESSES["vp"], y, steps=5, order=4),
    lambda d, y: sample_dpm_solver(d, PROCESSES["vp"], y, steps=5, spacing="karras"),
    lambda d, y: sample_dos_sde(d, PROCESSES["dossr"], y, steps=500),
    lambda d, y: sample_ddim(d, PROCESSES["resshift"], y, steps=5),
    lambda d, y: sample_ddim(d, PROCESSES["vp"], y, steps=5, noise=torch.zeros(1, 3, 8, 8)),
    lambda d, y: get_sampler("ddpm").fn(d, PROCESSES["vp"], y, sections="600,1"),
    lambda d, y: get_sampler("ddpm").fn(d, PROCESSES["vp"], y, steps=10, sections="5,6"),
    lambda d, y: get_sampler("resshift").fn(d, PROCESSES["resshift"], y, steps=16),
    lambda d, y: sample_ccsr(d, vp(T=2), y, steps=1),
    lambda d, y: get_sampler("euler"),
])
def test_impossible_sampler_settings_raise_usage_errors(call):
    with pytest.raises(UsageError):
        call(Denoiser(AffineNet(), PROCESSES["vp"], "eps"), torch.zeros(SHAPE))
