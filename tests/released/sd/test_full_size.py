"""Full-size official key sets (every key and shape of the released checkpoints) convert: zeros, no memory for weights."""

from __future__ import annotations

import pytest
import torch

from srkit.released.sd import families
from srkit.released.sd.networks import (
    build_controlnet,
    build_on_meta,
    build_unet,
    build_vae,
    state_shapes,
)
from tests.released.sd.official_keys import LDMConfig, controlldm_keys
from tests.released.sd.synthetic import with_sd_schedule, zero_state

pytestmark = pytest.mark.slow

SD21_UNET = {"in_channels": 4, "out_channels": 4, "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2,
             "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
             "cross_attention_dim": 1024, "attention_head_dim": [5, 10, 20, 20], "use_linear_projection": True, "transformer_layers_per_block": 1}
SD_VAE = {"in_channels": 3, "out_channels": 3, "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "latent_channels": 4}


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
    from transformers import CLIPTextConfig, CLIPTextModel

    shapes = {"unet." + k: s for k, s in state_shapes(build_on_meta(build_unet, SD21_UNET)).items()}
    control = {k: v for k, v in SD21_UNET.items() if k not in ("out_channels", "up_block_types")} | {"hint": "latent_conv"}
    shapes.update({"controlnet." + k.replace("controlnet_cond_embedding.", "condition_conv_in."): s
                   for k, s in state_shapes(build_on_meta(build_controlnet, control)).items()})
    shapes.update({"vae." + k: s for k, s in state_shapes(build_on_meta(build_vae, SD_VAE)).items()})
    with torch.device("meta"):
        text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                                            num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu", projection_dim=512))
    shapes.update({"text_encoder.text_model." + k.removeprefix("text_model."): tuple(v.shape)
                   for k, v in text.state_dict().items() if "position_ids" not in k})
    total = sum(torch.Size(s).numel() for k, s in shapes.items() if not k.startswith("text_encoder."))
    model = families.CCSR_V2.convert(zero_state(shapes))
    _check_full_size(model, parameters=total + 2 * 77 * 1024)
