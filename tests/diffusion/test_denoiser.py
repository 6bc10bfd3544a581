import pytest
import torch

from srkit.diffusion.denoiser import Denoiser
from srkit.errors import UsageError

from .helpers import AffineNet, OracleNet, dossr, resshift, vp


def test_denoiser_scales_input_calls_net_once_and_counts_nfe():
    process = resshift()
    net = AffineNet()
    denoiser = Denoiser(net, process, "x0")
    x_t, y = torch.randn(2, 1, 3, 3), torch.randn(2, 1, 3, 3)
    t = torch.tensor([0, 14])
    out = denoiser(x_t, y, t)
    assert denoiser.nfe == 1 and len(net.calls) == 1
    torch.testing.assert_close(net.calls[0]["x_in"], process.scale_model_input(x_t, t))
    assert net.calls[0]["t"].dtype == torch.float32
    torch.testing.assert_close(net.calls[0]["t"], t.float())
    torch.testing.assert_close(out.x0, out.raw)
    torch.testing.assert_close(process.q_sample(out.x0, y, out.eps, t), x_t)


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_denoiser_recovers_truth_from_an_oracle_of_each_parameterisation(prediction):
    process = vp()
    gen = torch.Generator().manual_seed(0)
    x0, eps = torch.rand(2, 3, 4, 4, generator=gen) * 2 - 1, torch.randn(2, 3, 4, 4, generator=gen)
    t = torch.tensor([10, 600])
    x_t = process.q_sample(x0, torch.zeros_like(x0), eps, t)
    if prediction == "v":
        def net(x_in, y, tf):
            return process.v_from_x0_eps(x0, eps, tf.long())
    else:
        net = OracleNet(process, x0, prediction)
    out = Denoiser(net, process, prediction)(x_t, torch.zeros_like(x0), t)
    torch.testing.assert_close(out.x0, x0)
    torch.testing.assert_close(out.eps, eps)


@pytest.mark.parametrize("make", [vp, resshift, dossr])
def test_vp_eps_output_is_read_through_the_total_signal_level(make):
    process = make()
    gen = torch.Generator().manual_seed(1)
    x0, y, eps = (torch.rand(2, 3, 4, 4, generator=gen, dtype=torch.float64) * 2 - 1 for _ in range(3))
    t = torch.tensor([0, process.start_index])
    x_t = process.q_sample(x0, y, eps, t)
    out = Denoiser(OracleNet(process, x0, "vp_eps"), process, "vp_eps")(x_t, y, t)
    torch.testing.assert_close(out.x0, x0)
    torch.testing.assert_close(out.eps, eps)
    c = [process.coef(int(i)) for i in t]
    by_hand = torch.stack([(x_t[i] - c[i].c_eps * out.raw[i]) / (c[i].c_x0 + c[i].c_y) for i in range(2)])
    torch.testing.assert_close(out.x0, by_hand)
    if make is vp:
        torch.testing.assert_close(out.raw, eps)  # the same as eps prediction on VP


def test_clipped_x0_comes_with_the_matching_eps():
    process = vp()
    x_t, y = torch.full((1, 1, 2, 2), 3.0), torch.zeros(1, 1, 2, 2)
    t = torch.tensor([5])
    out = Denoiser(lambda x, y, t: torch.full_like(x, -0.5), process, "eps")(x_t, y, t, clip_x0=True)
    assert out.x0.max().item() == 1.0
    torch.testing.assert_close(process.q_sample(out.x0, y, out.eps, t), x_t)


def test_v_prediction_is_refused_outside_vp():
    with pytest.raises(UsageError):
        Denoiser(AffineNet(), resshift(), "v")
    with pytest.raises(UsageError):
        Denoiser(AffineNet(), vp(), "score")
