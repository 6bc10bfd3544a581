import torch

from srkit.nets.build import build_network
from srkit.nets.config import autoencoder_preset

from .helpers import randn, randomize_


def tiny_autoencoder(seed: int = 0, **overrides):
    return randomize_(build_network(autoencoder_preset("tiny", **overrides), seed=seed), seed=seed + 100).eval()


def core_mask(size: int, keep: list[tuple[int, int]]) -> torch.Tensor:
    mask = torch.zeros(size, dtype=torch.bool)
    for a, b in keep:
        mask[a:b] = True
    return mask


def test_autoencoder_round_trip_of_odd_size_image_is_factor_four():
    ae = tiny_autoencoder()
    x = randn(2, 3, 37, 53, seed=1).clamp(-1, 1)
    with torch.no_grad():
        z = ae.encode(x)
        rec = ae.decode(z)
    assert z.shape == (2, 4, 10, 14)  # padded to 40x56
    assert rec.shape == (2, 3, 40, 56)


def test_tiled_decode_equals_untiled_away_from_tile_borders():
    ae = tiny_autoencoder()
    z = randn(1, 4, 48, 48, seed=2)
    with torch.no_grad():
        full, tiled = ae.decode(z), ae.decode_tiled(z, tile=32, overlap=16)
    # latent tiles [0, 32) and [16, 48): pixels of one tile only, 16 latents (> receptive field) from its edge
    keep = core_mask(192, [(0, 64), (128, 192)])
    torch.testing.assert_close(tiled[..., keep, :][..., keep], full[..., keep, :][..., keep], rtol=1e-5, atol=1e-5)
    assert float((tiled - full).abs().max()) < 0.25 * float(full.abs().max())  # blended seams stay close


def test_tiled_encode_equals_untiled_away_from_tile_borders():
    ae = tiny_autoencoder()
    x = randn(1, 3, 192, 192, seed=3).clamp(-1, 1)
    with torch.no_grad():
        full, tiled = ae.encode(x), ae.encode_tiled(x, tile=128, overlap=64)
    keep = core_mask(48, [(0, 16), (32, 48)])
    torch.testing.assert_close(tiled[..., keep, :][..., keep], full[..., keep, :][..., keep], rtol=1e-5, atol=1e-5)


def test_calibrated_scale_gives_unit_variance_latents_and_is_saved():
    ae = tiny_autoencoder()
    x = randn(4, 3, 32, 32, seed=4).clamp(-1, 1)
    scale = ae.calibrate_scale(x)
    with torch.no_grad():
        assert abs(float(ae.encode(x).std()) - 1.0) < 1e-4
        torch.testing.assert_close(ae.decode(ae.encode(x)), ae.decoder(ae.encode_moments(x)[0]))
    assert float(ae.state_dict()["scale_factor"]) == scale


def test_training_forward_samples_the_posterior_with_the_given_generator():
    ae = tiny_autoencoder()
    x = randn(1, 3, 16, 16, seed=5)
    with torch.no_grad():
        a = ae(x, torch.Generator().manual_seed(1))
        b = ae(x, torch.Generator().manual_seed(1))
        c = ae(x, torch.Generator().manual_seed(2))
    assert torch.equal(a.reconstruction, b.reconstruction)
    assert not torch.equal(a.reconstruction, c.reconstruction)
    assert a.mean.shape == a.logvar.shape == (1, 4, 4, 4)


def test_group_norm_and_attention_variant_round_trips():
    ae = tiny_autoencoder(norm="group", mid_attention=True, num_heads=2)
    with torch.no_grad():
        assert ae.decode(ae.encode(randn(1, 3, 20, 28, seed=6))).shape == (1, 3, 20, 28)
