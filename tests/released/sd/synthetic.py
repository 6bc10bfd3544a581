"""Synthetic official checkpoints (random or zero weights) for conversion and end-to-end tests."""

from __future__ import annotations

import torch
from torch import Tensor

from srkit.released.sd.networks import (
    HINT_LATENT_CONV,
    SD21_UNET,
    SD_VAE,
    build_controlnet,
    build_on_meta,
    build_unet,
    build_vae,
    controlnet_config,
    state_shapes,
)
from srkit.released.sd.schedules import sd_alphas_cumprod
from tests.released.sd.official_keys import LDMConfig, Shapes, controlldm_keys

TINY = LDMConfig(
    model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_levels=(0,), context_dim=64,
    vae_ch=32, vae_ch_mult=(1, 2), vae_res_blocks=1, rrdb=(8, 1, 4), text_width=64, text_layers=2,
)


def random_state(shapes: Shapes, seed: int = 0) -> dict[str, Tensor]:
    """N(0, 1/fan_in) weights, N(1, 0.2^2) 1-D scales named ``weight``, N(0, 0.1^2) otherwise (as the fixtures)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if len(shape) >= 2:
            fan_in = 1
            for d in shape[1:]:
                fan_in *= d
            state[key] = torch.randn(shape, generator=g) / fan_in**0.5
        elif len(shape) == 1 and key.endswith("weight"):
            state[key] = 1.0 + 0.2 * torch.randn(shape, generator=g)
        else:
            state[key] = 0.1 * torch.randn(shape, generator=g)
    return state


def zero_state(shapes: Shapes) -> dict[str, Tensor]:
    """Zero tensors of the given shapes that take no memory (broadcast views of one zero)."""
    zero = torch.zeros(())
    return {k: zero.expand(s) for k, s in shapes.items()}


def with_sd_schedule(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Put SD-2.1's ``alphas_cumprod`` in the schedule buffer (the converter checks it)."""
    state["alphas_cumprod"] = torch.from_numpy(sd_alphas_cumprod()).float()
    return state


def tiny_controlldm(*, dossr: bool, seed: int = 0) -> dict[str, Tensor]:
    return with_sd_schedule(random_state(controlldm_keys(TINY, text=True, dossr=dossr), seed))


def tiny_ccsr_v2(seed: int = 0) -> dict[str, Tensor]:
    """CCSR-v2 folders as saved by diffusers (ControlNet with ``condition_conv_in``), plus a tiny ``text_encoder``."""
    from transformers import CLIPTextConfig, CLIPTextModel

    unet_cfg = {"in_channels": 4, "out_channels": 4, "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
                "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "block_out_channels": [32, 64], "layers_per_block": 1,
                "cross_attention_dim": 64, "attention_head_dim": [1, 1], "use_linear_projection": True, "transformer_layers_per_block": 1}
    control_cfg = controlnet_config(unet_cfg, HINT_LATENT_CONV)
    vae_cfg = {"in_channels": 3, "out_channels": 3, "block_out_channels": [32, 64], "layers_per_block": 1, "latent_channels": 4}
    shapes: Shapes = {}
    for prefix, module in (("unet.", build_unet(unet_cfg)), ("controlnet.", build_controlnet(control_cfg)), ("vae.", build_vae(vae_cfg))):
        for k, v in module.state_dict().items():
            shapes[prefix + k.replace("controlnet_cond_embedding.", "condition_conv_in.")] = tuple(v.shape)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=1, max_position_embeddings=77))
    shapes.update({"text_encoder." + k: tuple(v.shape) for k, v in text.state_dict().items() if "position_ids" not in k})
    return random_state(shapes, seed)


def full_size_ccsr_v2_shapes() -> Shapes:
    """Every key and shape of CCSR v2's full-size folders, role-prefixed: ControlNet (``condition_conv_in``),
    SD-2.1-base's UNet, the VAE and SD-2.1-base's ``text_encoder`` (CLIP ViT-H text, 23 layers)."""
    from transformers import CLIPTextConfig, CLIPTextModel

    shapes = {"unet." + k: s for k, s in state_shapes(build_on_meta(build_unet, SD21_UNET)).items()}
    control = controlnet_config(SD21_UNET, HINT_LATENT_CONV)
    shapes.update({"controlnet." + k.replace("controlnet_cond_embedding.", "condition_conv_in."): s
                   for k, s in state_shapes(build_on_meta(build_controlnet, control)).items()})
    shapes.update({"vae." + k: s for k, s in state_shapes(build_on_meta(build_vae, SD_VAE)).items()})
    with torch.device("meta"):
        text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                                            num_attention_heads=16, max_position_embeddings=77, hidden_act="gelu", projection_dim=512))
    shapes.update({"text_encoder.text_model." + k.removeprefix("text_model."): tuple(v.shape)
                   for k, v in text.state_dict().items() if "position_ids" not in k})
    return shapes
