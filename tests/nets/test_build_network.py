import pytest
import torch

from srkit.errors import RecipeError
from srkit.nets.autoencoder import Autoencoder
from srkit.nets.build import build_network
from srkit.nets.compile import compile_if_available
from srkit.nets.config import DecoderHeadConfig, DiscriminatorConfig, autoencoder_preset, unet_preset
from srkit.nets.decoder_stage import ResidualHead
from srkit.nets.discriminator import PatchDiscriminator
from srkit.io.checkpoints import model_id
from srkit.nets.unet import ConditionalUNet

from .helpers import randn, randomize_


@pytest.mark.parametrize(
    "cfg,kind",
    [
        (unet_preset("tiny"), ConditionalUNet),
        (autoencoder_preset("tiny"), Autoencoder),
        (DecoderHeadConfig(), ResidualHead),
        (DiscriminatorConfig(base_channels=8), PatchDiscriminator),
    ],
)
def test_build_network_dispatches_on_config_type(cfg, kind):
    assert isinstance(build_network(cfg), kind)


def test_build_network_rejects_other_objects():
    with pytest.raises(RecipeError, match="no network is built from a dict"):
        build_network({"base_channels": 64})  # type: ignore[arg-type]


def test_same_seed_same_weights_and_global_rng_untouched():
    before = torch.random.get_rng_state()
    a = build_network(unet_preset("tiny"), seed=3)
    b = build_network(unet_preset("tiny"), seed=3)
    c = build_network(unet_preset("tiny"), seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert model_id(a.state_dict()) == model_id(b.state_dict()) != model_id(c.state_dict())


def test_unet_is_built_channels_last():
    net = build_network(unet_preset("tiny"))
    assert net.input_conv.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.slow
def test_compiled_unet_matches_eager():
    net = randomize_(build_network(unet_preset("tiny"), seed=0), seed=1).eval()
    compiled = compile_if_available(net, torch.device("cpu"))
    x, y, t = randn(1, 3, 20, 28, seed=2), randn(1, 3, 20, 28, seed=3), torch.tensor([10.0])
    with torch.no_grad():
        torch.testing.assert_close(compiled(x, y, t), net(x, y, t), rtol=1e-4, atol=1e-4)
    assert model_id(compiled.state_dict()) == model_id(net.state_dict())
