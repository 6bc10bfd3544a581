import itertools
import math

import numpy as np
import pytest
import torch

from srkit.diffusion.processes import VPProcess
from srkit.diffusion.processes.base import MIN_SIGNAL
from srkit.diffusion.samplers.timesteps import spaced_timesteps
from srkit.errors import UsageError

from .helpers import dossr, resshift, vp

N = 200_000  # Monte Carlo samples: std error of a mean ~ 0.0022 * sd


def _closed_form_marginal(process, t, x0, y):
    """Mean and std of q(x_t | x0, y) from each paper's formula, written independently of the code."""
    if process.kind == "vp":
        ab = float(np.prod(1.0 - process.betas[: t + 1]))
        return math.sqrt(ab) * x0, math.sqrt(1 - ab)
    if process.kind == "resshift":
        eta = float(process.sqrt_etas[t]) ** 2
        return x0 + eta * (y - x0), process.kappa * math.sqrt(eta)
    ab = float(np.prod(1.0 - process.betas[: t + 1]))
    tt = t + 1  # paper step
    eta = (1 - math.cos(math.pi * min(tt, process.t1) / process.t1)) / 2 if tt < process.t1 else 1.0
    return math.sqrt(ab) * (eta * y + (1 - eta) * x0), math.sqrt(1 - ab)


@pytest.mark.parametrize("make, steps", [(vp, [0, 250, 999]), (resshift, [0, 7, 14]), (dossr, [0, 120, 498, 700])])
def test_forward_marginal_moments_match_closed_form(make, steps):
    process = make()
    gen = torch.Generator().manual_seed(0)
    x0_value, y_value = 0.6, -0.4
    x0 = torch.full((N, 1, 1, 1), x0_value)
    y = torch.full_like(x0, y_value)
    for t in steps:
        eps = torch.randn(x0.shape, generator=gen)
        x_t = process.q_sample(x0, y, eps, torch.full((N,), t))
        mean, std = _closed_form_marginal(process, t, x0_value, y_value)
        assert x_t.mean().item() == pytest.approx(mean, abs=5 * std / math.sqrt(N))
        assert x_t.std().item() == pytest.approx(std, rel=0.01)


def _gaussian_posterior(prior_mean, prior_var, gain, shift, trans_var, x_t):
    """p(x_s | x_t) for x_s ~ N(prior_mean, prior_var), x_t | x_s ~ N(gain x_s + shift, trans_var)."""
    var = 1.0 / (1.0 / prior_var + gain**2 / trans_var)
    return var * (prior_mean / prior_var + gain * (x_t - shift) / trans_var), var


@pytest.mark.parametrize("t, s", [(500, 499), (500, 137), (10, -1)])
def test_vp_posterior_matches_bayes_rule(t, s):
    process = vp()
    x0, x_t = torch.tensor([0.3, -0.8]).reshape(2, 1, 1, 1), torch.tensor([1.2, 0.1]).reshape(2, 1, 1, 1)
    mean, var = process.q_posterior_mean_variance(x0, x_t, torch.full((2,), t), torch.full((2,), s))
    ab_t, ab_s = float(process.alphas_cumprod[t]), 1.0 if s < 0 else float(process.alphas_cumprod[s])
    if s < 0:
        torch.testing.assert_close(mean, x0)
        assert torch.all(var == 0)
        return
    ratio = ab_t / ab_s
    want_mean, want_var = _gaussian_posterior(math.sqrt(ab_s) * x0, 1 - ab_s, math.sqrt(ratio), 0.0, 1 - ratio, x_t)
    torch.testing.assert_close(mean, want_mean)
    torch.testing.assert_close(var, torch.full_like(var, want_var))


@pytest.mark.parametrize("t, s", [(14, 13), (14, 3), (5, -1)])
def test_resshift_posterior_matches_bayes_rule(t, s):
    process = resshift()
    x0, y = torch.tensor([0.3, -0.8]).reshape(2, 1, 1, 1), torch.tensor([-0.1, 0.5]).reshape(2, 1, 1, 1)
    x_t = torch.tensor([1.2, 0.1]).reshape(2, 1, 1, 1)
    mean, var = process.q_posterior_mean_variance(x0, x_t, torch.full((2,), t), torch.full((2,), s))
    if s < 0:
        torch.testing.assert_close(mean, x0)
        return
    eta_t, eta_s, k2 = float(process.etas[t]), float(process.etas[s]), process.kappa**2
    e0 = y - x0
    shift, trans_var = (eta_t - eta_s) * e0, k2 * (eta_t - eta_s)
    want_mean, want_var = _gaussian_posterior(x0 + eta_s * e0, k2 * eta_s, 1.0, shift, trans_var, x_t)
    torch.testing.assert_close(mean, want_mean)
    torch.testing.assert_close(var, torch.full_like(var, want_var))


def test_respaced_ddpm_posterior_keeps_original_marginals_at_kept_steps():
    process = vp()
    kept = spaced_timesteps(process.T, "45,20,15,10,10")
    assert len(kept) == 100 and kept[0] == 999 and kept[-1] == 0
    x0 = torch.tensor([0.7]).reshape(1, 1, 1, 1)
    for t, s in itertools.pairwise(kept):
        ab_t, ab_s = process.alphas_cumprod[t], process.alphas_cumprod[s]
        # Push q(x_t | x0) = N(sqrt(ab_t) x0, 1 - ab_t) through the posterior: it must give q(x_s | x0).
        zero, one = torch.zeros_like(x0), torch.ones_like(x0)
        t_, s_ = torch.tensor([t]), torch.tensor([s])
        offset, var = process.q_posterior_mean_variance(x0, zero, t_, s_)
        gain = process.q_posterior_mean_variance(zero, one, t_, s_)[0]
        mean_s = offset + gain * math.sqrt(ab_t) * x0
        var_s = gain**2 * (1 - ab_t) + var
        assert mean_s.item() == pytest.approx(math.sqrt(ab_s) * 0.7, rel=1e-12)
        assert var_s.item() == pytest.approx(1 - ab_s, rel=1e-10)


@pytest.mark.parametrize("make", [vp, resshift, dossr])
def test_x0_and_eps_conversions_invert_q_sample(make):
    process = make()
    gen = torch.Generator().manual_seed(1)
    x0, y, eps = (torch.randn(3, 2, 4, 4, generator=gen) for _ in range(3))
    t = torch.tensor([0, process.T // 3, process.start_index])
    x_t = process.q_sample(x0, y, eps, t)
    torch.testing.assert_close(process.x0_from_eps(x_t, y, eps, t), x0)
    torch.testing.assert_close(process.eps_from_x0(x_t, y, x0, t), eps)


def test_vp_v_prediction_conversions_are_consistent():
    process = vp()
    gen = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(2, 1, 3, 3, generator=gen), torch.randn(2, 1, 3, 3, generator=gen)
    t = torch.tensor([3, 800])
    x_t = process.q_sample(x0, torch.zeros_like(x0), eps, t)
    v = process.v_from_x0_eps(x0, eps, t)
    torch.testing.assert_close(process.x0_from_v(x_t, v, t), x0)
    torch.testing.assert_close(process.eps_from_v(x_t, v, t), eps)


def test_resshift_network_input_has_unit_variance_scaling():
    process = resshift()
    x = torch.ones(2, 1, 1, 1)
    t = torch.tensor([0, 14])
    want = 1 / torch.sqrt(4.0 * torch.tensor(process.etas[[0, 14]]) + 1)
    torch.testing.assert_close(process.scale_model_input(x, t).flatten(), want)
    torch.testing.assert_close(vp().scale_model_input(x, t), x)


def test_resshift_prior_is_y_plus_kappa_sqrt_eta_T_noise():
    process = resshift()
    y, noise = torch.full((1, 1, 2, 2), 0.25), torch.full((1, 1, 2, 2), 1.0)
    torch.testing.assert_close(process.prior_sample(y, noise), y + 2.0 * math.sqrt(0.999))


def test_dossr_and_vp_share_noise_levels_at_equal_timesteps():
    a, b = vp(), dossr()
    for t in (0, 250, 498, 999):
        assert a.coef(t).c_eps == b.coef(t).c_eps
        assert a.coef(t).c_x0 == pytest.approx(b.coef(t).c_x0 + b.coef(t).c_y)  # a_t = a_t(1-eta) + a_t eta


def test_dossr_starts_at_last_step_below_t1_with_eta_under_one():
    process = dossr(1000)
    assert process.t1 == 500 and process.start_index == 498
    assert process.etas[process.start_index] < 1.0 and process.etas[process.start_index + 1] == 1.0


def test_vp_x0_from_eps_at_t_equals_T_with_tiny_alpha_bar():
    process = vp(schedule="cosine")  # ab_T ~ 2e-9: x0 = (x_T - sqrt(1-ab) eps)/sqrt(ab) amplifies ~2e4 times
    assert math.sqrt(process.alphas_cumprod[-1]) < 1e-4
    gen = torch.Generator().manual_seed(3)
    x0, eps = torch.rand(2, 3, 4, 4, generator=gen) * 2 - 1, torch.randn(2, 3, 4, 4, generator=gen)
    t = torch.full((2,), process.T - 1)
    x_t = process.q_sample(x0, torch.zeros_like(x0), eps, t)
    torch.testing.assert_close(process.x0_from_eps(x_t, torch.zeros_like(x0), eps, t), x0, atol=1e-9, rtol=0)
    x_t32, eps32 = x_t.float(), eps.float()
    approx = process.x0_from_eps(x_t32, torch.zeros_like(x_t32), eps32, t)
    assert torch.isfinite(approx).all() and approx.dtype == torch.float32


def test_dossr_x0_from_eps_near_and_at_t1():
    process = dossr(1000)
    gen = torch.Generator().manual_seed(4)
    x0, y, eps = (torch.rand(1, 3, 4, 4, generator=gen) * 2 - 1 for _ in range(3))
    near = torch.tensor([process.start_index])  # 1 - eta ~ 1e-5
    x_t = process.q_sample(x0, y, eps, near)
    torch.testing.assert_close(process.x0_from_eps(x_t, y, eps, near), x0, atol=1e-9, rtol=0)
    at_t1 = torch.tensor([process.t1 - 1])  # eta = 1: x_t carries no x0 at all
    x_t1 = process.q_sample(x0, y, eps, at_t1)
    torch.testing.assert_close(x_t1, process.q_sample(torch.zeros_like(x0), y, eps, at_t1))
    guarded = process.x0_from_eps(x_t1, y, eps + 1e-3, at_t1)
    assert torch.isfinite(guarded).all()
    assert guarded.abs().max().item() == pytest.approx(1e-3 * process.coef(499).c_eps / MIN_SIGNAL, rel=1e-6)


def test_processes_reject_bad_schedules_and_posteriors():
    with pytest.raises(UsageError):
        VPProcess(np.array([0.1, 1.5]))
    with pytest.raises(UsageError):
        dossr().q_posterior_mean_variance(torch.zeros(1), torch.zeros(1), torch.tensor([3]))
    with pytest.raises(UsageError):
        vp().q_posterior_mean_variance(torch.zeros(1), torch.zeros(1), torch.tensor([3]), torch.tensor([3]))
    with pytest.raises(UsageError):
        vp().coef(1000)
