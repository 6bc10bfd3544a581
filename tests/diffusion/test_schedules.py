import math

import numpy as np
import pytest

from srkit.diffusion.schedules import (
    cosine_betas,
    dossr_etas,
    make_betas,
    resshift_sqrt_etas,
)
from srkit.errors import UsageError


def test_resshift_schedule_follows_paper_eq9_endpoints_and_interior():
    T, kappa, p = 15, 2.0, 0.3
    sqrt_etas = resshift_sqrt_etas(T, kappa, p, 0.04, 0.999)
    sqrt_eta_1 = min(0.04 / kappa, math.sqrt(0.001))
    b0 = math.exp(math.log(0.999 / sqrt_eta_1**2) / (2 * (T - 1)))
    for t in range(1, T + 1):  # paper's 1-based step
        beta_t = ((t - 1) / (T - 1)) ** p * (T - 1)
        assert sqrt_etas[t - 1] == pytest.approx(sqrt_eta_1 * b0**beta_t, rel=1e-12)
    assert sqrt_etas[-1] ** 2 == pytest.approx(0.999, rel=1e-12)
    assert np.all(np.diff(sqrt_etas) > 0)


def test_resshift_eta1_rules_differ_only_for_small_kappa():
    paper = resshift_sqrt_etas(15, 2.0, 0.3, 0.04, 0.999, "paper")
    official = resshift_sqrt_etas(15, 2.0, 0.3, 0.04, 0.999, "official")
    assert paper[0] == official[0] == pytest.approx(0.02)
    assert resshift_sqrt_etas(15, 1.0, 0.3, 0.04, 0.999, "paper")[0] == pytest.approx(math.sqrt(0.001))
    assert resshift_sqrt_etas(15, 1.0, 0.3, 0.04, 0.999, "official")[0] == pytest.approx(0.04)


def test_dossr_eta_is_cosine_until_t1_then_one():
    etas = dossr_etas(1000, 500)
    assert etas[0] == pytest.approx((1 - math.cos(math.pi / 500)) / 2)
    assert etas[249] == pytest.approx(0.5)  # paper step 250 = t1 / 2
    assert etas[498] < 1.0 and np.all(etas[499:] == 1.0)
    assert np.all(np.diff(etas) >= 0)


def test_cosine_betas_reproduce_the_cosine_alpha_bar():
    T = 1000
    alpha_bar = np.cumprod(1.0 - cosine_betas(T))
    def f(t):
        return np.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2

    target = f(np.arange(1, T + 1)) / f(0)
    np.testing.assert_allclose(alpha_bar[:-1], target[:-1], rtol=1e-9)


def test_make_betas_linear_and_scaled_linear_endpoints():
    lin = make_betas("linear", 2000, 1e-6, 1e-2)
    assert lin[0] == 1e-6 and lin[-1] == pytest.approx(1e-2) and lin.dtype == np.float64
    sd = make_betas("scaled_linear", 1000, 0.00085, 0.012)
    assert sd[0] == pytest.approx(0.00085) and sd[-1] == pytest.approx(0.012)


@pytest.mark.parametrize("call", [
    lambda: make_betas("quadratic", 10),
    lambda: make_betas("linear", 0),
    lambda: resshift_sqrt_etas(1, 2.0, 0.3, 0.04, 0.999),
    lambda: resshift_sqrt_etas(15, 2.0, 0.3, 0.04, 0.999, "other"),
    lambda: dossr_etas(10, 1),
])
def test_impossible_schedules_raise_usage_errors(call):
    with pytest.raises(UsageError):
        call()
