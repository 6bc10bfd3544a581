import torch

from srkit.nets.build import build_network
from srkit.nets.config import DecoderHeadConfig, autoencoder_preset
from srkit.nets.decoder_stage import LatentDecoder, ResidualHead

from .helpers import randn, randomize_


def test_residual_head_is_exactly_identity_at_initialisation():
    head = build_network(DecoderHeadConfig(channels=3, hidden=16), seed=0)
    x = randn(2, 3, 19, 27, seed=1)
    assert torch.equal(head(x), x)


def test_residual_head_leaves_identity_after_one_gradient_step():
    head = ResidualHead(3, 8)
    x, target = randn(1, 3, 12, 12, seed=2), randn(1, 3, 12, 12, seed=3)
    (head(x) - target).square().mean().backward()
    assert head.last_layer_weight.grad.abs().sum() > 0
    with torch.no_grad():
        for p in head.parameters():
            p -= 0.1 * p.grad
        assert not torch.equal(head(x), x)


def test_latent_decoder_equals_autoencoder_decode_and_trains_its_decoder():
    ae = randomize_(build_network(autoencoder_preset("tiny"), seed=0), seed=1).eval()
    ae.scale_factor.fill_(0.5)
    stage = LatentDecoder(ae)
    z = randn(1, 4, 6, 9, seed=4)
    with torch.no_grad():
        torch.testing.assert_close(stage(z), ae.decode(z))
    assert {id(p) for p in stage.parameters()} == {id(p) for p in ae.decoder.parameters()}
