"""Full-size official key sets (every key and shape of the released checkpoints) convert: zeros, no memory for weights."""

from __future__ import annotations

import pytest
import torch

from srkit.released.sd import families
from tests.released.sd.official_keys import LDMConfig, controlldm_keys
from tests.released.sd.synthetic import (
    full_size_ccsr_v2_shapes,
    with_sd_schedule,
    zero_state,
)

pytestmark = pytest.mark.slow


def _check_full_size(model, *, parameters: int) -> None:
    assert model.config["unet"]["block_out_channels"] == [320, 640, 1280, 1280]
    assert model.config["unet"]["attention_head_dim"] == [5, 10, 20, 20] and model.config["unet"]["cross_attention_dim"] == 1024
    assert model.config["vae"]["block_out_channels"] == [128, 256, 512, 512]
    assert model.tensors["text.context"].shape == (1, 77, 1024)
    assert sum(t.numel() for t in model.tensors.values()) == parameters


@pytest.mark.parametrize("family", [families.DOSSR, families.CCSR_V1], ids=lambda f: f.name)
def test_full_size_controlldm_converts(family) -> None:
    shapes = controlldm_keys(LDMConfig(), text=True, dossr=family.preprocessor)
    if not family.preprocessor:
        shapes.update({"decoder_loss.logvar": (), "decoder_loss.discriminator.main.0.weight": (64, 3, 4, 4)})
    total = sum(torch.Size(s).numel() for k, s in shapes.items() if not k.startswith(("cond_stage_model.", "decoder_loss.")) and "." in k)
    assert 1_300_000_000 < total < 1_400_000_000  # UNet 865.9M + ControlNet 363.2M + VAE 83.7M + cond encoder 34.2M (+ RRDB 16.7M)
    model = family.convert(with_sd_schedule(zero_state(shapes)))
    _check_full_size(model, parameters=total + 77 * 1024)
    assert model.config["controlnet"]["in_channels"] == 8
    assert (model.config["rrdb"] or {}).get("num_block") == (23 if family.preprocessor else None)


def test_full_size_ccsr_v2_folders_convert() -> None:
    shapes = full_size_ccsr_v2_shapes()
    total = sum(torch.Size(s).numel() for k, s in shapes.items() if not k.startswith("text_encoder."))
    model = families.CCSR_V2.convert(zero_state(shapes))
    _check_full_size(model, parameters=total + 2 * 77 * 1024)
