"""Official ResShift state dicts -> srkit tensors and config (sizes read from tensor shapes).

The converted checkpoint holds ``unet.<official key>`` (:class:`SwinUNet` mirrors
the official module tree, so the map is the identity) and ``vq.<diffusers key>``
(:func:`~srkit.released.resshift.vq.vq_rules`). The Swin blocks' buffers are not
loaded: ``relative_position_index`` is recomputed (and checked equal) and
``attn_mask`` is never read by the official forward either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
from torch import Tensor

from srkit.convert.rules import apply_rules, expected_shapes, ignore, keep
from srkit.errors import WeightsError
from srkit.released.base import ConvertedModel
from srkit.released.resshift.swin import relative_position_index
from srkit.released.resshift.unet import SwinUNet, SwinUNetConfig
from srkit.released.resshift.vq import build_vq, infer_vq_config, vq_rules

UNET_MARKERS = ("input_blocks.0.0.weight", "out.2.weight", "middle_block.0.in_layers.2.weight")
VQ_MARKERS = ("encoder.conv_in.weight", "quantize.embedding.weight", "post_quant_conv.weight")
_SWIN = re.compile(r"(.*)\.blocks\.(\d+)\.attn\.relative_position_bias_table")


def looks_like_unet(keys: set[str]) -> bool:
    """Keys of an official ``UNetModelSwin`` (ADM names plus Swin ``patch_embed`` layers)?"""
    return all(k in keys for k in UNET_MARKERS) and any(".patch_embed.proj.weight" in k for k in keys)


def looks_like_vq(keys: set[str]) -> bool:
    """Keys of an official LDM VQ autoencoder (``VQModelTorch``)?"""
    return all(k in keys for k in VQ_MARKERS) and any(k.startswith("encoder.down.") for k in keys)


def source_role(keys: set[str]) -> str | None:
    """``"unet"`` or ``"vq"`` for one official ResShift file, else None."""
    if looks_like_unet(keys):
        return "unet"
    if looks_like_vq(keys):
        return "vq"
    return None


def _blocks(state: Mapping[str, Tensor], prefix: str, side: str) -> list[int]:
    found = {int(m.group(1)) for k in state if (m := re.match(rf"{re.escape(prefix)}{side}\.(\d+)\.", k))}
    return sorted(found)


def infer_unet_config(state: Mapping[str, Tensor], prefix: str = "unet.") -> SwinUNetConfig:
    """Every size of an official Swin-UNet from its keys and shapes (the module docstring's layout)."""

    def get(key: str) -> Tensor:
        try:
            return state[prefix + key]
        except KeyError:
            raise WeightsError(f"not an official ResShift Swin-UNet checkpoint: it has no {key!r}") from None

    conv_in = get("input_blocks.0.0.weight")
    mc = int(conv_in.shape[0])
    out_channels = int(get("out.2.weight").shape[0])
    mult: list[int] = []
    res_blocks: list[int] = []
    swin_levels: list[bool] = []
    level_open = True
    for b in _blocks(state, prefix, "input_blocks")[1:]:
        if prefix + f"input_blocks.{b}.0.op.weight" in state:
            level_open = True
            continue
        width = int(get(f"input_blocks.{b}.0.out_layers.3.weight").shape[0])
        if level_open:
            mult.append(width // mc)
            res_blocks.append(0)
            swin_levels.append(prefix + f"input_blocks.{b}.1.patch_embed.proj.weight" in state)
            level_open = False
        res_blocks[-1] += 1
    tables = {m.group(1): get(k[len(prefix):]) for k in state if (m := _SWIN.fullmatch(k))}
    if not tables:
        raise WeightsError("not an official ResShift Swin-UNet checkpoint: it has no Swin layers")
    first = next(iter(tables))
    layer = first[len(prefix):]
    table = next(iter(tables.values()))
    window = max((math.isqrt(int(t.shape[0])) + 1) // 2 for t in tables.values())
    dim = int(get(f"{layer}.patch_embed.proj.weight").shape[0])
    depth = len({m.group(2) for k in state if (m := _SWIN.fullmatch(k)) and m.group(1) == first})
    image_size = window * 2 ** (len(mult) - 1)
    masks = [(k, v) for k, v in state.items() if k.startswith(prefix + "input_blocks.") and k.endswith(".attn_mask")]
    if masks:  # the build size, from the top level's stored mask: (H/w)^2 windows
        top = min(masks, key=lambda kv: int(kv[0][len(prefix) :].split(".")[1]))[1]
        image_size = math.isqrt(int(top.shape[0])) * window
    return SwinUNetConfig(
        in_channels=out_channels,
        lq_channels=int(conv_in.shape[1]) - out_channels,
        out_channels=out_channels,
        model_channels=mc,
        channel_mult=tuple(mult),
        num_res_blocks=tuple(res_blocks),
        swin_levels=tuple(swin_levels),
        swin_mid=prefix + "middle_block.1.patch_embed.proj.weight" in state,
        swin_embed_dim=dim,
        num_heads=int(table.shape[1]),
        window_size=window,
        swin_depth=depth,
        mlp_ratio=int(get(f"{layer}.blocks.0.mlp.fc1.weight").shape[0]) / dim,
        image_size=image_size,
    )


def _check_position_index(state: Mapping[str, Tensor], prefix: str) -> None:
    """Stored ``relative_position_index`` buffers must equal the recomputed ones (same token order)."""
    for key, value in state.items():
        if key.startswith(prefix) and key.endswith(".attn.relative_position_index"):
            window = math.isqrt(int(value.shape[0]))
            if value.shape != (window * window,) * 2 or not torch.equal(value.long(), relative_position_index(window)):
                raise WeightsError(f"{key[len(prefix):]} differs from the Swin relative position index srkit computes")


def convert_resshift(state: Mapping[str, Tensor]) -> ConvertedModel:
    """``unet.*`` (official Swin-UNet keys) and ``vq.*`` (official VQ keys) -> srkit tensors and config."""
    if not any(k.startswith("unet.") for k in state):
        raise WeightsError("no ResShift diffusion (Swin-UNet) checkpoint among the sources")
    if not any(k.startswith("vq.") for k in state):
        raise WeightsError("no ResShift autoencoder (autoencoder_vq_f4.pth) among the sources")
    unet_cfg = infer_unet_config(state, "unet.")
    vq_cfg = infer_vq_config(state, "vq.")
    _check_position_index(state, "unet.")
    with torch.device("meta"):
        expected = {
            **{f"unet.{k}": v for k, v in expected_shapes(SwinUNet(unet_cfg)).items()},
            **{f"vq.{k}": v for k, v in expected_shapes(build_vq(vq_cfg)).items()},
        }
    unet_part = {k: v for k, v in state.items() if k.startswith("unet.")}
    vq_part = {k: v for k, v in state.items() if k.startswith("vq.")}
    other = sorted(set(state) - set(unet_part) - set(vq_part))
    if other:
        raise WeightsError(f"unexpected source part(s) for ResShift: {', '.join(other[:3])}")
    unet_rules = [
        ignore(r"unet\..*\.attn_mask", "shift-mask buffers: the official forward recomputes the mask"),
        ignore(r"unet\..*\.relative_position_index", "recomputed (checked equal)"),
        keep(r"unet\..*"),
    ]
    unet_expected = {k: v for k, v in expected.items() if k.startswith("unet.")}
    vq_expected = {k: v for k, v in expected.items() if k.startswith("vq.")}
    unet = apply_rules(unet_part, unet_rules, unet_expected, what="the ResShift diffusion checkpoint")
    vq = apply_rules(vq_part, vq_rules(vq_cfg, "vq."), vq_expected, what="the ResShift autoencoder checkpoint")
    return ConvertedModel(
        tensors={**unet.tensors, **vq.tensors},
        config={"unet": unet_cfg.to_dict(), "vq": vq_cfg.to_dict()},
        ignored=unet.ignored + vq.ignored,
    )
