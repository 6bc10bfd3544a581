import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from srkit.nets.build import build_network
from srkit.nets.config import unet_preset
from srkit.nets.embedding import timestep_embedding
from srkit.io.checkpoints import model_id
from srkit.nets.state import load_weights

from .helpers import randn, randomize_


def tiny_net(seed: int = 0, **overrides):
    return randomize_(build_network(unet_preset("tiny", **overrides), seed=seed), seed=seed + 100).eval()


def inputs(batch: int = 2, h: int = 37, w: int = 53, channels: int = 3):
    t = torch.tensor([3.0, 1999.0][:batch])
    return randn(batch, channels, h, w, seed=1), randn(batch, channels, h, w, seed=2), t


def test_unet_keeps_odd_size_of_37x53_lr_at_x4():
    net = tiny_net()
    x, y, t = inputs(h=37 * 4, w=53 * 4)
    with torch.no_grad():
        out = net(x, y, t)
    assert out.shape == (2, 3, 148, 212) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_unet_latent_mode_has_configurable_condition_and_output_channels():
    net = tiny_net(in_channels=4, cond_channels=4, out_channels=4)
    x, y, t = inputs(h=13, w=19, channels=4)
    with torch.no_grad():
        assert net(x, y, t).shape == (2, 4, 13, 19)


def test_unet_without_condition_ignores_y():
    net = tiny_net(cond_channels=0)
    x, y, t = inputs(h=16, w=16)
    with torch.no_grad():
        assert torch.equal(net(x, y, t), net(x, torch.zeros_like(y), t))


def test_untrained_unet_outputs_zeros_from_its_zero_initialised_last_conv():
    net = build_network(unet_preset("tiny"), seed=0)
    x, y, t = inputs(h=16, w=24)
    with torch.no_grad():
        assert torch.count_nonzero(net(x, y, t)) == 0


@pytest.mark.parametrize("dtype,tol", [(torch.bfloat16, 3e-2), (torch.float16, 5e-3)])
def test_unet_autocast_on_cpu_matches_fp32_within_tolerance(dtype, tol):
    net = tiny_net()
    x, y, t = inputs(h=24, w=40)
    with torch.no_grad():
        ref = net(x, y, t)
        with torch.autocast("cpu", dtype=dtype):
            low = net(x, y, t)
    assert low.dtype == torch.float32
    assert float((low - ref).norm() / ref.norm()) < tol


def test_unet_channels_last_gives_the_same_output_as_contiguous():
    a, b = tiny_net(channels_last=True), tiny_net(channels_last=False)
    b.load_state_dict(a.state_dict())
    x, y, t = inputs(h=20, w=28)
    with torch.no_grad():
        torch.testing.assert_close(a(x, y, t), b(x, y, t), rtol=1e-4, atol=1e-5)


def test_unet_output_depends_on_integer_timestep():
    net = tiny_net()
    x, y, _ = inputs(batch=1, h=16, w=16)
    with torch.no_grad():
        out = [net(x, y, torch.tensor([s])) for s in (1000.0, 1001.0)]
    assert not torch.allclose(out[0], out[1], atol=1e-4)


def test_timestep_embedding_matches_closed_form_at_t_2000_under_autocast():
    dim, t = 16, torch.tensor([0.0, 1.0, 2000.0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        emb = timestep_embedding(t, dim)
    assert emb.dtype == torch.float32 and emb.shape == (3, dim)
    half = dim // 2
    for i, ti in enumerate(t.tolist()):
        for k in range(half):
            arg = ti * math.exp(-math.log(10000.0) * k / half)
            assert emb[i, k].item() == pytest.approx(math.cos(arg), abs=2e-3)
            assert emb[i, half + k].item() == pytest.approx(math.sin(arg), abs=2e-3)


@pytest.mark.parametrize(
    "overrides",
    [
        {"resblock_updown": True},
        {"use_scale_shift_norm": False, "dropout": 0.1},
        {"attention_resolutions": (), "mid_attention": False},
    ],
)
def test_every_unet_parameter_receives_gradient(overrides):
    net = tiny_net(**overrides).train()
    x, y, t = inputs(h=17, w=23)
    net(x, y, t).square().mean().backward()
    dead = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert dead == []


def test_unet_rejects_condition_of_another_size():
    x, y, t = inputs(h=16, w=16)
    with pytest.raises(ValueError, match="must share batch and spatial size"):
        tiny_net()(x, y[..., :8], t)


def test_unet_save_load_gives_identical_outputs_and_model_id(tmp_path):
    net = tiny_net(seed=0)
    path = tmp_path / "unet.safetensors"
    wrapped = {f"module._orig_mod.{k}": v.contiguous() for k, v in net.state_dict().items()}
    save_file(wrapped, str(path))
    other = tiny_net(seed=7)
    x, y, t = inputs(h=21, w=30)
    with torch.no_grad():
        assert not torch.equal(other(x, y, t), net(x, y, t))
        load_weights(other, load_file(str(path)))
        assert torch.equal(other(x, y, t), net(x, y, t))
    assert model_id(other.state_dict()) == model_id(net.state_dict()) == model_id(load_file(str(path)))


def test_condition_skip_untrained_unet_returns_the_condition_and_adds_it_after_training():
    fresh = build_network(unet_preset("tiny", condition_skip=True), seed=0).eval()
    x, y, t = inputs(h=20, w=28)
    with torch.no_grad():
        assert torch.equal(fresh(x, y, t), y)
        plain, skip = tiny_net(), tiny_net(condition_skip=True)
        torch.testing.assert_close(skip(x, y, t), plain(x, y, t) + y)


def test_condition_skip_needs_as_many_condition_as_output_channels():
    from srkit.errors import RecipeError

    with pytest.raises(RecipeError, match="condition_skip"):
        unet_preset("tiny", condition_skip=True, cond_channels=4)
