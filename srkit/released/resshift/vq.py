"""ResShift's VQGAN-f4 autoencoder on ``diffusers.VQModel``, with the official nearest-code quantiser.

The official ``VQModelTorch`` (LDM layout) maps onto ``diffusers.VQModel`` by
renaming keys (:func:`vq_rules`). Encoding stops before quantisation; decoding
first snaps each latent vector to its nearest codebook entry (:func:`quantise`,
the distance written as ``|z|^2 + |e|^2 - 2 z.e`` as the official quantiser does),
then runs ``post_quant_conv`` and the decoder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor

from srkit.convert.rules import Rule, ignore, rename, squeeze_1x1
from srkit.errors import UsageError, WeightsError

try:
    from diffusers import VQModel
except ImportError:  # an optional dependency: only the released ResShift models need it
    VQModel = None


@dataclass(frozen=True)
class VQConfig:
    """Sizes of the LDM VQ autoencoder (official ``ddconfig`` + ``n_embed``/``embed_dim``)."""

    in_channels: int = 3
    out_channels: int = 3
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    z_channels: int = 3
    embed_dim: int = 3
    n_embed: int = 8192

    @property
    def factor(self) -> int:
        """Spatial downsampling factor (4 for VQGAN-f4)."""
        return 2 ** (len(self.ch_mult) - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VQConfig:
        return cls(**{**data, "ch_mult": tuple(data["ch_mult"])})


def quantise(z: Tensor, codebook: Tensor) -> tuple[Tensor, Tensor]:
    """Nearest-code quantisation ``(z + (e - z), indices)`` of ``z`` (B, C, H, W) against ``codebook`` (K, C).

    ``argmin_k |z|^2 + |e_k|^2 - 2 z.e_k`` per position (VQGAN; the straight-through
    form ``z + (e - z)`` is what the official quantiser returns).
    """
    b, c, h, w = z.shape
    flat = z.permute(0, 2, 3, 1).reshape(-1, c)
    book = codebook.to(flat.dtype)
    distance = flat.pow(2).sum(1, keepdim=True) + book.pow(2).sum(1) - 2 * flat @ book.t()
    indices = distance.argmin(dim=1)
    codes = book[indices]
    snapped = (flat + (codes - flat)).view(b, h, w, c).permute(0, 3, 1, 2).contiguous()
    return snapped, indices.view(b, h, w)


def build_vq(cfg: VQConfig) -> VQModel:
    """The ``diffusers.VQModel`` with the official autoencoder's layout and sizes."""
    if VQModel is None:
        raise UsageError("the released ResShift models need the diffusers package: pip install 'diffusers>=0.30'")
    levels = len(cfg.ch_mult)
    return VQModel(
        in_channels=cfg.in_channels,
        out_channels=cfg.out_channels,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        block_out_channels=tuple(cfg.ch * m for m in cfg.ch_mult),
        layers_per_block=cfg.num_res_blocks,
        latent_channels=cfg.z_channels,
        num_vq_embeddings=cfg.n_embed,
        vq_embed_dim=cfg.embed_dim,
        norm_num_groups=32,
    )


def vq_encode(vq: VQModel, x: Tensor) -> Tensor:
    """Encoder then ``quant_conv`` (the official ``encode``: no quantisation); ``x`` in [-1, 1]."""
    return vq.encode(x).latents


def vq_decode(vq: VQModel, z: Tensor, *, quantised: bool = True) -> Tensor:
    """Nearest-code quantisation (unless ``quantised=False``), ``post_quant_conv``, decoder (official ``decode``)."""
    if quantised:
        z = quantise(z, vq.quantize.embedding.weight)[0]
    return vq.decode(z, force_not_quantize=True).sample


_RESNET = r"(norm1|conv1|norm2|conv2)"


def vq_rules(cfg: VQConfig, prefix: str = "") -> list[Rule]:
    """Official ``VQModelTorch`` keys -> ``diffusers.VQModel`` keys (``prefix`` is prepended to both sides)."""
    levels = len(cfg.ch_mult)
    p, q = re.escape(prefix), prefix

    def up(found: re.Match[str], rest: str) -> str:
        return f"{q}decoder.up_blocks.{levels - 1 - int(found.group(1))}.{rest}"

    rules = [
        rename(rf"{p}(encoder|decoder)\.conv_(in|out)\.(weight|bias)", rf"{q}\1.conv_\2.\3"),
        rename(rf"{p}(encoder|decoder)\.norm_out\.(weight|bias)", rf"{q}\1.conv_norm_out.\2"),
        rename(rf"{p}encoder\.down\.(\d+)\.block\.(\d+)\.{_RESNET}\.(weight|bias)", rf"{q}encoder.down_blocks.\1.resnets.\2.\3.\4"),
        rename(rf"{p}encoder\.down\.(\d+)\.block\.(\d+)\.nin_shortcut\.(weight|bias)", rf"{q}encoder.down_blocks.\1.resnets.\2.conv_shortcut.\3"),
        rename(rf"{p}encoder\.down\.(\d+)\.downsample\.conv\.(weight|bias)", rf"{q}encoder.down_blocks.\1.downsamplers.0.conv.\2"),
        rename(rf"{p}decoder\.up\.(\d+)\.block\.(\d+)\.{_RESNET}\.(weight|bias)", lambda m: up(m, f"resnets.{m.group(2)}.{m.group(3)}.{m.group(4)}")),
        rename(rf"{p}decoder\.up\.(\d+)\.block\.(\d+)\.nin_shortcut\.(weight|bias)", lambda m: up(m, f"resnets.{m.group(2)}.conv_shortcut.{m.group(3)}")),
        rename(rf"{p}decoder\.up\.(\d+)\.upsample\.conv\.(weight|bias)", lambda m: up(m, f"upsamplers.0.conv.{m.group(2)}")),
        rename(rf"{p}(encoder|decoder)\.mid\.block_(1|2)\.{_RESNET}\.(weight|bias)", lambda m: f"{q}{m.group(1)}.mid_block.resnets.{int(m.group(2)) - 1}.{m.group(3)}.{m.group(4)}"),
        rename(rf"{p}(encoder|decoder)\.mid\.attn_1\.norm\.(weight|bias)", rf"{q}\1.mid_block.attentions.0.group_norm.\2"),
        rename(rf"{p}(encoder|decoder)\.mid\.attn_1\.(q|k|v)\.weight", rf"{q}\1.mid_block.attentions.0.to_\2.weight", squeeze_1x1),
        rename(rf"{p}(encoder|decoder)\.mid\.attn_1\.(q|k|v)\.bias", rf"{q}\1.mid_block.attentions.0.to_\2.bias"),
        rename(rf"{p}(encoder|decoder)\.mid\.attn_1\.proj_out\.weight", rf"{q}\1.mid_block.attentions.0.to_out.0.weight", squeeze_1x1),
        rename(rf"{p}(encoder|decoder)\.mid\.attn_1\.proj_out\.bias", rf"{q}\1.mid_block.attentions.0.to_out.0.bias"),
        rename(rf"{p}(quant_conv|post_quant_conv)\.(weight|bias)", rf"{q}\1.\2"),
        rename(rf"{p}quantize\.embedding\.weight", f"{q}quantize.embedding.weight"),
        ignore(rf"{p}loss\..*", "training loss (LPIPS/discriminator) weights, unused at inference"),
    ]
    return rules


def infer_vq_config(state: Mapping[str, Tensor], prefix: str = "") -> VQConfig:
    """Read every size of an official VQ autoencoder from its tensor shapes (keys under ``prefix``)."""
    try:
        conv_in = state[f"{prefix}encoder.conv_in.weight"]
        ch = int(conv_in.shape[0])
        levels = 1 + max(int(m.group(1)) for k in state if (m := re.match(rf"{re.escape(prefix)}encoder\.down\.(\d+)\.", k)))
        blocks = 1 + max(int(m.group(1)) for k in state if (m := re.match(rf"{re.escape(prefix)}encoder\.down\.0\.block\.(\d+)\.", k)))
        ch_mult = tuple(int(state[f"{prefix}encoder.down.{i}.block.0.conv1.weight"].shape[0]) // ch for i in range(levels))
        if any(re.match(rf"{re.escape(prefix)}(encoder\.down|decoder\.up)\.\d+\.attn\.", k) for k in state):
            raise WeightsError("this VQ autoencoder has attention inside its levels, which ResShift's VQGAN-f4 does not")
        return VQConfig(
            in_channels=int(conv_in.shape[1]),
            out_channels=int(state[f"{prefix}decoder.conv_out.weight"].shape[0]),
            ch=ch,
            ch_mult=ch_mult,
            num_res_blocks=blocks,
            z_channels=int(state[f"{prefix}encoder.conv_out.weight"].shape[0]),
            embed_dim=int(state[f"{prefix}quant_conv.weight"].shape[0]),
            n_embed=int(state[f"{prefix}quantize.embedding.weight"].shape[0]),
        )
    except (KeyError, ValueError) as err:
        raise WeightsError(f"not a VQ autoencoder checkpoint of the LDM layout (no {err})") from None
