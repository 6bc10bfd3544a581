"""The SD-2.1-family networks as diffusers modules, built from JSON-able configs read off tensor shapes.

- UNet: ``diffusers.UNet2DConditionModel``; the ControlNet residuals enter through
  ``down_block_additional_residuals`` / ``mid_block_additional_residual``, exactly where
  the official ``ControlledUnetModel`` adds them (skips and middle block).
- ControlNet: ``diffusers.ControlNetModel`` with its hint encoder replaced
  (:func:`build_controlnet`): DoSSR / CCSR v1 feed ``cat(x_t, c)`` (8 channels) to
  ``conv_in`` and have no hint encoder (:class:`NoHint` adds an exact 0); CCSR v2 adds a
  3x3 conv of the VAE latent after ``conv_in`` (stored as ``controlnet_cond_embedding``).
- VAE: ``diffusers.AutoencoderKL``; DoSSR/CCSR v1's condition encoder (a second copy
  of encoder + ``quant_conv``) is a :class:`ConditionEncoder`.

Configs take every size from the weights; the number of attention heads per level is
not in the weights and is an argument (SD-2.1: 64 channels per head).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
from diffusers.models.autoencoders.vae import Encoder
from torch import Tensor, nn

from srkit.errors import WeightsError

Shapes = Mapping[str, tuple[int, ...]]
SD21_HEAD_CHANNELS = 64
HINT_CONCAT = "concat"  # DoSSR, CCSR v1: conv_in sees cat(x_t, c)
HINT_LATENT_CONV = "latent_conv"  # CCSR v2: conv_in(x_t) + condition_conv_in(c)

#: the full-size configs every released SD-family model converts to (SD-2.1-base's UNet and KL-f8 VAE, diffusers
#: names); the converters infer them from the weights, and benchmarks and tests build full-size networks from them
SD21_UNET = {
    "in_channels": 4, "out_channels": 4, "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "cross_attention_dim": 1024, "attention_head_dim": [5, 10, 20, 20], "use_linear_projection": True, "transformer_layers_per_block": 1,
}
SD_VAE = {"in_channels": 3, "out_channels": 3, "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "latent_channels": 4}


def controlnet_config(unet: Mapping[str, Any], hint: str) -> dict[str, Any]:
    """The ControlNet config of a UNet config: its encoder half, with ``hint`` (``concat``: 8 input channels)."""
    config = {k: v for k, v in unet.items() if k not in ("out_channels", "up_block_types")} | {"hint": hint}
    if hint == HINT_CONCAT:
        config["in_channels"] = 2 * int(unet["in_channels"])
    return config


class NoHint(nn.Module):
    """Stands for ControlNet's hint encoder where there is none: contributes an exact 0."""

    def forward(self, cond: Tensor) -> Tensor:
        return cond.new_zeros(())


def widen_encoder_stem(encoder: Encoder, stem: int) -> None:
    """Let ``conv_in`` output ``stem`` channels, as LDM's encoder does (``ch``), when that differs from level 0's width.

    diffusers' encoder assumes ``ch_mult[0] == 1`` (SD's VAE); LDM's takes ``ch`` channels
    into level 0 and widens there with a 1x1 shortcut. Only the first resnet changes.
    """
    first = encoder.down_blocks[0].resnets[0]
    if stem == first.in_channels:
        return
    encoder.conv_in = nn.Conv2d(encoder.conv_in.in_channels, stem, 3, padding=1)
    encoder.down_blocks[0].resnets[0] = type(first)(
        in_channels=stem, out_channels=first.out_channels, temb_channels=None, eps=first.norm1.eps,
        groups=first.norm1.num_groups, dropout=0.0, non_linearity="silu",
    )


class ConditionEncoder(nn.Module):
    """DoSSR/CCSR v1 ``cond_encoder``: VAE encoder + ``quant_conv``; returns the posterior mode."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__()
        channels = list(config["block_out_channels"])
        latent = int(config["latent_channels"])
        self.encoder = Encoder(
            in_channels=config["in_channels"], out_channels=latent, down_block_types=("DownEncoderBlock2D",) * len(channels),
            block_out_channels=tuple(channels), layers_per_block=config["layers_per_block"], norm_num_groups=32, double_z=True,
        )
        widen_encoder_stem(self.encoder, config.get("stem_channels", channels[0]))
        self.quant_conv = nn.Conv2d(2 * latent, 2 * latent, 1)
        self.latent = latent

    def forward(self, image: Tensor) -> Tensor:
        """Mean of the diagonal Gaussian for ``image`` in [-1, 1] (unscaled)."""
        return self.quant_conv(self.encoder(image))[:, : self.latent]


# --- configs from shapes ------------------------------------------------------------------
def _count(shapes: Shapes, pattern: str) -> int:
    """Number of distinct integers ``N`` for which some key matches ``pattern`` with ``{}`` = N."""
    regex = re.compile("^" + re.escape(pattern).replace(r"\{\}", r"(\d+)") + r"(\.|$)")
    return len({m.group(1) for k in shapes if (m := regex.match(k))})


def need_shape(shapes: Shapes, key: str, what: str) -> tuple[int, ...]:
    if key not in shapes:
        raise WeightsError(f"{what}: expected weight {key!r} is missing")
    return shapes[key]


def heads_for(channels: Sequence[int], heads: Sequence[int] | None) -> list[int]:
    """Heads per level: given, or SD-2.1's 64 channels per head."""
    if heads is None:
        return [max(c // SD21_HEAD_CHANNELS, 1) for c in channels]
    if len(heads) != len(channels):
        raise WeightsError(f"{len(heads)} head counts given for {len(channels)} UNet levels")
    return [int(h) for h in heads]


def ldm_unet_config(shapes: Shapes, prefix: str, heads: Sequence[int] | None, *, controlnet: bool = False) -> dict[str, Any]:
    """A diffusers UNet/ControlNet config for an LDM ``openaimodel`` state under ``prefix``."""
    what = prefix.rstrip(".")
    conv_in = need_shape(shapes, f"{prefix}input_blocks.0.0.weight", what)
    blocks = _count(shapes, f"{prefix}input_blocks.{{}}") - 1
    levels = _count(shapes, f"{prefix}input_blocks.{{}}.0.op") + 1
    per_level, rest = divmod(blocks - (levels - 1), levels)
    if rest or per_level < 1:
        raise WeightsError(f"{what}: {blocks} input blocks do not form {levels} levels of res blocks")
    first = [1 + level * (per_level + 1) for level in range(levels)]
    channels = [need_shape(shapes, f"{prefix}input_blocks.{i}.0.out_layers.3.weight", what)[0] for i in first]
    attention = [f"{prefix}input_blocks.{i}.1.proj_in.weight" in shapes for i in first]
    attn_keys = [k for k in shapes if k.startswith(prefix) and k.endswith("attn2.to_k.weight")]
    if not attn_keys:
        raise WeightsError(f"{what}: no cross-attention weights found")
    depth = _count(shapes, f"{prefix}input_blocks.{first[attention.index(True)]}.1.transformer_blocks.{{}}")
    linear = len(shapes[f"{prefix}input_blocks.{first[attention.index(True)]}.1.proj_in.weight"]) == 2
    config: dict[str, Any] = {
        "in_channels": conv_in[1],
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attention],
        "block_out_channels": channels,
        "layers_per_block": per_level,
        "cross_attention_dim": shapes[attn_keys[0]][1],
        "attention_head_dim": heads_for(channels, heads),
        "use_linear_projection": linear,
        "transformer_layers_per_block": depth,
    }
    if controlnet:
        config["hint"] = HINT_CONCAT
    else:
        config["out_channels"] = need_shape(shapes, f"{prefix}out.2.weight", what)[0]
        config["up_block_types"] = ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)]
    return config


def diffusers_unet_config(shapes: Shapes, prefix: str, heads: Sequence[int] | None, *, controlnet: bool = False) -> dict[str, Any]:
    """A diffusers UNet/ControlNet config for a diffusers state under ``prefix`` (CCSR v2, SD-2.1-base)."""
    what = prefix.rstrip(".")
    conv_in = need_shape(shapes, f"{prefix}conv_in.weight", what)
    levels = _count(shapes, f"{prefix}down_blocks.{{}}")
    per_level = _count(shapes, f"{prefix}down_blocks.0.resnets.{{}}")
    channels = [need_shape(shapes, f"{prefix}down_blocks.{i}.resnets.0.conv1.weight", what)[0] for i in range(levels)]
    attention = [f"{prefix}down_blocks.{i}.attentions.0.proj_in.weight" in shapes for i in range(levels)]
    first = attention.index(True)
    attn2 = need_shape(shapes, f"{prefix}down_blocks.{first}.attentions.0.transformer_blocks.0.attn2.to_k.weight", what)
    config: dict[str, Any] = {
        "in_channels": conv_in[1],
        "down_block_types": ["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attention],
        "block_out_channels": channels,
        "layers_per_block": per_level,
        "cross_attention_dim": attn2[1],
        "attention_head_dim": heads_for(channels, heads),
        "use_linear_projection": len(shapes[f"{prefix}down_blocks.{first}.attentions.0.proj_in.weight"]) == 2,
        "transformer_layers_per_block": _count(shapes, f"{prefix}down_blocks.{first}.attentions.0.transformer_blocks.{{}}"),
    }
    if controlnet:
        config["hint"] = HINT_LATENT_CONV
    else:
        config["out_channels"] = need_shape(shapes, f"{prefix}conv_out.weight", what)[0]
        config["up_block_types"] = ["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)]
    return config


VAE_BLOCK_NAMES = {"ldm": ("down", "block"), "diffusers": ("down_blocks", "resnets")}  # level list, blocks in a level


def vae_config(shapes: Shapes, prefix: str, layout: str) -> dict[str, Any]:
    """A diffusers AutoencoderKL config for an ``ldm`` (official ``AutoencoderKL``) or ``diffusers`` state under ``prefix``."""
    what = prefix.rstrip(".")
    down, blocks = VAE_BLOCK_NAMES[layout]
    levels = _count(shapes, f"{prefix}encoder.{down}.{{}}")
    return {
        "in_channels": need_shape(shapes, f"{prefix}encoder.conv_in.weight", what)[1],
        "out_channels": need_shape(shapes, f"{prefix}decoder.conv_out.weight", what)[0],
        "block_out_channels": [need_shape(shapes, f"{prefix}encoder.{down}.{i}.{blocks}.0.conv1.weight", what)[0] for i in range(levels)],
        "layers_per_block": _count(shapes, f"{prefix}encoder.{down}.0.{blocks}.{{}}"),
        "latent_channels": need_shape(shapes, f"{prefix}decoder.conv_in.weight", what)[1],
        "stem_channels": shapes[f"{prefix}encoder.conv_in.weight"][0],
    }


# --- modules from configs -----------------------------------------------------------------
def build_unet(config: Mapping[str, Any]) -> UNet2DConditionModel:
    return UNet2DConditionModel(**{**config, "sample_size": 64})


def build_controlnet(config: Mapping[str, Any]) -> ControlNetModel:
    """``ControlNetModel`` with the hint path of the official variant (module docstring)."""
    kwargs = {k: v for k, v in config.items() if k != "hint"}
    net = ControlNetModel(**kwargs, conditioning_embedding_out_channels=(16,))
    if config["hint"] == HINT_CONCAT:
        net.controlnet_cond_embedding = NoHint()
    elif config["hint"] == HINT_LATENT_CONV:
        latent = config["in_channels"]
        net.controlnet_cond_embedding = nn.Conv2d(latent, config["block_out_channels"][0], 3, padding=1)
    else:
        raise WeightsError(f"unknown ControlNet hint path {config['hint']!r}")
    return net


def _vae_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    levels = len(config["block_out_channels"])
    return {
        **{k: v for k, v in config.items() if k != "stem_channels"},
        "down_block_types": ("DownEncoderBlock2D",) * levels,
        "up_block_types": ("UpDecoderBlock2D",) * levels,
        "norm_num_groups": 32,
    }


def build_vae(config: Mapping[str, Any]) -> AutoencoderKL:
    vae = AutoencoderKL(**_vae_kwargs(config))
    widen_encoder_stem(vae.encoder, config.get("stem_channels", config["block_out_channels"][0]))
    return vae


def build_on_meta(factory: Any, config: Mapping[str, Any]) -> nn.Module:
    """The module without allocating or initialising its weights (for shapes, or ``load_state_dict(assign=True)``)."""
    with torch.device("meta"):
        return factory(config)


def state_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}
