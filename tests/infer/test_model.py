"""SRModel: checkpoint round trip, recipe resolution, shapes, precision rules, decoder head, latent mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.infer.tiny_model import (
    randomise_zero_layers,
    save_tiny_checkpoint,
    tiny_model,
    tiny_recipe,
)

from srkit.errors import UsageError, WeightsError
from srkit.model import load_model, model_from_modules
from srkit.infer.seeding import cpu_generator


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def lr_batch(batch: int = 1, h: int = 8, w: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_super_resolve_gives_the_scaled_size_in_unit_range_and_reports_nfe(model) -> None:
    sr, nfe = model.super_resolve(lr_batch(2, 7, 9))
    assert sr.shape == (2, 3, 28, 36)
    assert nfe == 3  # DDIM-3: one network call per step
    assert sr.min() >= 0 and sr.max() <= 1
    assert model.start_shape((2, 3, 7, 9)) == (2, 3, 28, 36)


def test_same_noise_and_generator_reproduce_the_output_bit_for_bit(model) -> None:
    lr = lr_batch()
    noise = torch.randn(model.start_shape(lr.shape), generator=cpu_generator(3))
    a, _ = model.super_resolve(lr, noise=noise, generator=cpu_generator(1))
    b, _ = model.super_resolve(lr, noise=noise, generator=cpu_generator(1))
    c, _ = model.super_resolve(lr, noise=torch.randn(noise.shape, generator=cpu_generator(4)))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_checkpoint_round_trip_rebuilds_the_recipe_and_the_outputs(tmp_path: Path, model) -> None:
    path = save_tiny_checkpoint(tmp_path / "m.safetensors", model)
    loaded = load_model(path)  # recipe from the metadata
    assert loaded.recipe.network == model.recipe.network and loaded.recipe.process == model.recipe.process
    assert len(loaded.model_id) == 12
    lr, noise = lr_batch(), torch.randn(1, 3, 32, 48, generator=cpu_generator(0))
    assert torch.equal(loaded.super_resolve(lr, noise=noise)[0], model.super_resolve(lr, noise=noise)[0])


def test_a_recipe_whose_network_differs_from_the_weights_is_refused(tmp_path: Path, model) -> None:
    path = save_tiny_checkpoint(tmp_path / "m.safetensors", model)
    with pytest.raises(WeightsError, match="network differs"):
        load_model(path, recipe=tiny_recipe(network={"base_channels": 32}))


def test_missing_and_non_model_checkpoints_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "absent.safetensors")
    from srkit.io.checkpoints import save_checkpoint

    other = save_checkpoint(tmp_path / "ae.safetensors", {"w": torch.ones(2)}, {"kind": "srkit-autoencoder"})
    assert other.kind == "srkit-autoencoder"
    with pytest.raises(WeightsError, match="not an srkit model"):
        load_model(tmp_path / "ae.safetensors")


def test_no_builtin_weights_says_how_to_pass_them() -> None:
    with pytest.raises(WeightsError, match="--weights"):
        load_model(None, recipe=tiny_recipe())


def test_fp16_is_refused_on_cpu_and_bf16_runs(model) -> None:
    with pytest.raises(UsageError, match="fp16"):
        model_from_modules(model.recipe, model.net, precision="fp16")
    bf16 = model_from_modules(model.recipe, model.net, precision="bf16")
    sr, _ = bf16.super_resolve(lr_batch())
    assert sr.dtype == torch.float32 and torch.isfinite(sr).all()


def test_pixel_decoder_head_is_applied_after_sampling(model) -> None:
    from srkit.nets.decoder_stage import ResidualHead

    head = ResidualHead(3, 8, 2)
    lr, noise = lr_batch(), torch.randn(1, 3, 32, 48, generator=cpu_generator(0))
    with_head = model_from_modules(model.recipe, model.net, decoder=head.eval())
    plain, _ = model.super_resolve(lr, noise=noise)
    assert torch.equal(with_head.super_resolve(lr, noise=noise)[0], plain)  # the head is the identity at init
    randomise_zero_layers(head, seed=5, std=0.5)
    state, _ = model.sample_state(lr, noise=noise)
    expected = ((head(state).clamp(-1, 1) + 1) / 2)
    torch.testing.assert_close(with_head.super_resolve(lr, noise=noise)[0], expected)


def latent_recipe():
    return tiny_recipe(
        mode="latent",
        autoencoder={"kind": "autoencoder", "base_channels": 8, "channel_mult": [1, 1, 2], "num_res_blocks": 1, "latent_channels": 4},
        network={"in_channels": 4, "cond_channels": 4, "out_channels": 4},
    )


def test_latent_mode_samples_latents_and_decodes_to_the_output_size(tmp_path: Path) -> None:
    from srkit.nets.build import build_network

    recipe = latent_recipe()
    net = randomise_zero_layers(build_network(recipe.network, seed=0)).eval()
    autoencoder = build_network(recipe.autoencoder, seed=1).eval()
    model = model_from_modules(recipe, net, autoencoder)
    assert model.latent_factor == 4 and model.start_shape((1, 3, 5, 7)) == (1, 4, 5, 7)
    sr, nfe = model.super_resolve(lr_batch(1, 5, 7))
    assert sr.shape == (1, 3, 20, 28) and nfe == 3
    path = save_tiny_checkpoint(tmp_path / "latent.safetensors", model)
    loaded = load_model(path)
    noise = torch.randn(1, 4, 5, 7, generator=cpu_generator(0))
    assert torch.equal(loaded.super_resolve(lr_batch(1, 5, 7), noise=noise)[0], model.super_resolve(lr_batch(1, 5, 7), noise=noise)[0])
