import math

import pytest
import torch

from srkit.diffusion.denoiser import Denoiser
from srkit.diffusion.objectives import (
    DreamObjective,
    NutlObjective,
    RegressionObjective,
)
from srkit.errors import UsageError

from .helpers import AffineNet, coefficients, dossr, resshift, unscale, vp

SHAPE = (4, 2, 5, 5)
PROCESSES = {"vp": vp, "resshift": resshift, "dossr": dossr}


def _batch(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(SHAPE, generator=gen) * 2 - 1, torch.rand(SHAPE, generator=gen) * 2 - 1


def _draw(process, seed):
    """The documented training draw: t uniform on [0, T), then eps, from one generator."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.randint(0, process.T, (SHAPE[0],), generator=gen)
    return t, torch.randn(SHAPE, generator=gen)


def test_regression_loss_is_the_l1_error_of_the_eps_prediction_with_one_call():
    process, net = vp(), AffineNet()
    x0, y = _batch()
    loss, logs = RegressionObjective("eps", "l1")(net, process, x0, y, torch.Generator().manual_seed(3))
    t, eps = _draw(process, 3)
    ab = torch.tensor(process.alphas_cumprod)[t].reshape(-1, 1, 1, 1)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    w = net.weight.detach()
    pred = w[0] * x_t + w[1] * y + w[2] * (t.float() / 1000).reshape(-1, 1, 1, 1) + w[3]
    assert len(net.calls) == 1
    torch.testing.assert_close(loss, (pred - eps).abs().mean())
    assert logs["loss"] == loss.detach()


@pytest.mark.parametrize("prediction", ["eps", "x0", "vp_eps"])
@pytest.mark.parametrize("kind", list(PROCESSES))
def test_dream_with_p_inf_equals_standard_loss_bit_for_bit(kind, prediction):
    process = PROCESSES[kind]()
    x0, y = _batch()
    standard, _ = RegressionObjective(prediction, "l1")(AffineNet(), process, x0, y, torch.Generator().manual_seed(9))
    dream_inf = DreamObjective(math.inf, prediction, "l1")
    dream, logs = dream_inf(AffineNet(), process, x0, y, torch.Generator().manual_seed(9))
    assert torch.equal(dream, standard)
    assert logs["dream_lambda"] == 0


@pytest.mark.parametrize("kind, prediction", [
    (kind, prediction) for kind in ("vp", "resshift", "dossr") for prediction in ("eps", "x0", "vp_eps")
    if (kind, prediction) != ("dossr", "eps")  # x0 is not readable from eps there: see the Algorithm 3 test
])
def test_dream_with_p_zero_trains_on_the_renoised_own_prediction(kind, prediction):
    process, net = PROCESSES[kind](), AffineNet()
    x0, y = _batch()
    DreamObjective(0.0, prediction, "l2")(net, process, x0, y, torch.Generator().manual_seed(4))
    t, eps = _draw(process, 4)
    first_call, second_call = net.calls
    x_t = process.q_sample(x0, y, eps, t)
    torch.testing.assert_close(first_call["x_in"], process.scale_model_input(x_t, t))
    first_out = Denoiser(AffineNet(), process, prediction)(x_t, y, t)  # same weights, same input
    own_x0 = first_out.x0
    expected_input = process.scale_model_input(process.q_sample(own_x0, y, eps, t), t)
    torch.testing.assert_close(second_call["x_in"], expected_input)


@pytest.mark.parametrize("kind", ["resshift", "dossr"])
def test_dream_vp_eps_target_maps_the_rectified_input_to_x0(kind):
    process, net = PROCESSES[kind](), AffineNet()
    x0, y = _batch()
    loss, _ = DreamObjective(0.5, "vp_eps", "l2")(net, process, x0, y, torch.Generator().manual_seed(7))
    t, _ = _draw(process, 7)
    x_hat = unscale(process, net.calls[1]["x_in"], t)
    c_x0, c_y, c_eps = coefficients(process, t, x0)
    target = (x_hat - (c_x0 + c_y) * x0) / c_eps
    with torch.no_grad():
        out = AffineNet()(net.calls[1]["x_in"], y, t.float())
    torch.testing.assert_close(loss.detach(), ((out - target) ** 2).mean())


def test_dream_eps_form_matches_algorithm_3_where_x0_is_unidentifiable():
    process, net = dossr(), AffineNet()
    x0, y = _batch()
    p = 1.0
    DreamObjective(p, "eps", "l1")(net, process, x0, y, torch.Generator().manual_seed(5))
    t, eps = _draw(process, 5)
    x_t = process.q_sample(x0, y, eps, t)
    with torch.no_grad():
        first = AffineNet()(x_t, y, t.float())
    sigma = torch.tensor([process.coef(int(i)).c_eps for i in t]).reshape(-1, 1, 1, 1)
    lam = sigma**p
    torch.testing.assert_close(net.calls[1]["x_in"], x_t + sigma * lam * (eps - first))  # Algorithm 3, line 5


def test_dream_gradient_flows_only_through_the_second_pass():
    process, net = vp(), AffineNet()
    x0, y = _batch()
    loss, _ = DreamObjective(1.0, "eps", "l1")(net, process, x0, y, torch.Generator().manual_seed(6))
    assert [c["grad"] for c in net.calls] == [False, True]
    loss.backward()
    t, eps = _draw(process, 6)
    reference = AffineNet()
    with torch.no_grad():
        first = reference(net.calls[0]["x_in"], y, t.float())
    lam = torch.tensor(1.0 - process.alphas_cumprod).sqrt()[t].reshape(-1, 1, 1, 1)
    target = eps + lam * (eps - first)
    manual = (reference(net.calls[1]["x_in"], y, t.float()) - target).abs().mean()
    manual.backward()
    torch.testing.assert_close(net.weight.grad, reference.weight.grad)


def test_nutl_losses_equal_hand_computed_values_on_a_toy_case():
    process, net = vp(T=10), AffineNet()
    x0, y = _batch()
    loss, logs = NutlObjective("eps", "l2", t_max=2 / 3)(net, process, x0, y, torch.Generator().manual_seed(8))
    gen = torch.Generator().manual_seed(8)  # l_diff's t on [0, t_max], then three independent noises
    t = torch.randint(0, 7, (SHAPE[0],), generator=gen)
    eps, eps_T, eps_tmax = (torch.randn(SHAPE, generator=gen) for _ in range(3))
    assert [int(c["t"][0]) for c in net.calls[1:]] == [9, 6]  # t = T, then t_max = round(2T/3) - 1
    w = net.weight.detach()

    def f(x, tt):
        return w[0] * x + w[1] * y + w[2] * tt / 1000 + w[3]

    ab = process.alphas_cumprod
    x_T = math.sqrt(ab[9]) * x0 + math.sqrt(1 - ab[9]) * eps_T
    x0_T = (x_T - math.sqrt(1 - ab[9]) * f(x_T, 9)) / math.sqrt(ab[9])
    x_tmax = math.sqrt(ab[6]) * x0_T + math.sqrt(1 - ab[6]) * eps_tmax
    x0_tmax = (x_tmax - math.sqrt(1 - ab[6]) * f(x_tmax, 6)) / math.sqrt(ab[6])
    l_T, l_tmax = ((x0 - x0_T) ** 2).mean(), ((x0 - x0_tmax) ** 2).mean()
    torch.testing.assert_close(logs["loss_T"], l_T)
    torch.testing.assert_close(logs["loss_tmax"], l_tmax)
    abt = torch.tensor(ab)[t].reshape(-1, 1, 1, 1)
    x_t = abt.sqrt() * x0 + (1 - abt).sqrt() * eps
    l_diff = ((f(x_t, t.reshape(-1, 1, 1, 1).double()) - eps) ** 2).mean()
    torch.testing.assert_close(logs["loss_diff"], l_diff)
    torch.testing.assert_close(loss.detach(), l_diff + l_T + l_tmax)
    assert len(net.calls) == 3 and all(c["grad"] for c in net.calls)


def test_nutl_draws_l_diff_timesteps_up_to_t_max_only():
    process, x0, y = vp(T=30), *_batch()
    seen = set()
    for seed in range(40):
        net = AffineNet()
        NutlObjective("eps", "l2", t_max=2 / 3)(net, process, x0, y, torch.Generator().manual_seed(seed))
        seen |= {int(v) for v in net.calls[0]["t"]}
    assert max(seen) == 19 and min(seen) == 0  # index of paper step round(2T/3) = 20


def test_objectives_reject_impossible_settings():
    x0, y = _batch()
    with pytest.raises(UsageError):
        NutlObjective()(AffineNet(), resshift(), x0, y, None)
    with pytest.raises(UsageError):
        DreamObjective(-1.0)
    with pytest.raises(UsageError):
        DreamObjective(1.0, prediction="v")
    with pytest.raises(UsageError):
        RegressionObjective("eps", "huber")
    with pytest.raises(UsageError):  # training needs an explicit generator
        RegressionObjective()(AffineNet(), vp(), x0, y, None)
