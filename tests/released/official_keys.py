"""The official ResShift state-dict keys and shapes for any config, for synthetic full-size checkpoints.

Written from the official layouts as the fixtures record them (``state.unet.*`` plus the
omitted ``attn_mask`` buffers; ``state.vq.*``); the tests check both generators against
the recorded reduced key sets before trusting them at full size.
"""

from __future__ import annotations

import torch

from srkit.released.resshift.swin import SwinLayer
from srkit.released.resshift.unet import SwinUNet, SwinUNetConfig
from srkit.released.resshift.vq import VQConfig

Shapes = dict[str, tuple[tuple[int, ...], torch.dtype]]


def official_unet_shapes(cfg: SwinUNetConfig, *, with_masks: bool = True) -> Shapes:
    """Parameters (the srkit module mirrors the official names) plus each Swin block's official buffers."""
    with torch.device("meta"):
        net = SwinUNet(cfg)
    shapes: Shapes = {k: (tuple(v.shape), torch.float32) for k, v in net.state_dict().items()}
    for name, module in net.named_modules():
        if not isinstance(module, SwinLayer):
            continue
        build = cfg.image_size // 2 ** int(_level(name, cfg))
        for i, block in enumerate(module.blocks):
            tokens = block.window**2
            shapes[f"{name}.blocks.{i}.attn.relative_position_index"] = ((tokens, tokens), torch.int64)
            if block.shift and with_masks:
                shapes[f"{name}.blocks.{i}.attn_mask"] = (((build // block.window) ** 2, tokens, tokens), torch.float32)
    return shapes


def _level(name: str, cfg: SwinUNetConfig) -> int:
    """The level of the Swin layer called ``name`` (input_blocks.B.1 / middle_block.1 / output_blocks.B.1)."""
    levels = len(cfg.channel_mult)
    if name.startswith("middle_block"):
        return levels - 1
    block = int(name.split(".")[1])
    if name.startswith("input_blocks"):
        index = 0
        for level in range(levels):
            for _ in range(cfg.num_res_blocks[level]):
                index += 1
                if index == block:
                    return level
            index += 1
        raise ValueError(name)
    index = -1
    for level in reversed(range(levels)):
        for _ in range(cfg.num_res_blocks[level] + 1):
            index += 1
            if index == block:
                return level
    raise ValueError(name)


def official_vq_shapes(cfg: VQConfig) -> Shapes:
    """The LDM ``VQModelTorch`` keys (``encoder.down.i.block.j``, ``decoder.up.i``, ``mid.attn_1`` ...)."""
    f32 = torch.float32
    out: Shapes = {}

    def conv(key: str, cout: int, cin: int, k: int) -> None:
        out[f"{key}.weight"] = ((cout, cin, k, k), f32)
        out[f"{key}.bias"] = ((cout,), f32)

    def norm(key: str, c: int) -> None:
        out[f"{key}.weight"] = ((c,), f32)
        out[f"{key}.bias"] = ((c,), f32)

    def resblock(key: str, cin: int, cout: int) -> None:
        norm(f"{key}.norm1", cin)
        conv(f"{key}.conv1", cout, cin, 3)
        norm(f"{key}.norm2", cout)
        conv(f"{key}.conv2", cout, cout, 3)
        if cin != cout:
            conv(f"{key}.nin_shortcut", cout, cin, 1)

    def mid(key: str, c: int) -> None:
        resblock(f"{key}.block_1", c, c)
        norm(f"{key}.attn_1.norm", c)
        for part in ("q", "k", "v", "proj_out"):
            conv(f"{key}.attn_1.{part}", c, c, 1)
        resblock(f"{key}.block_2", c, c)

    ch, mult, levels = cfg.ch, cfg.ch_mult, len(cfg.ch_mult)
    conv("encoder.conv_in", ch, cfg.in_channels, 3)
    block_in = ch
    for i in range(levels):
        for j in range(cfg.num_res_blocks):
            resblock(f"encoder.down.{i}.block.{j}", block_in, ch * mult[i])
            block_in = ch * mult[i]
        if i != levels - 1:
            conv(f"encoder.down.{i}.downsample.conv", block_in, block_in, 3)
    mid("encoder.mid", block_in)
    norm("encoder.norm_out", block_in)
    conv("encoder.conv_out", cfg.z_channels, block_in, 3)
    conv("decoder.conv_in", block_in, cfg.z_channels, 3)
    mid("decoder.mid", block_in)
    for i in reversed(range(levels)):
        for j in range(cfg.num_res_blocks + 1):
            resblock(f"decoder.up.{i}.block.{j}", block_in, ch * mult[i])
            block_in = ch * mult[i]
        if i != 0:
            conv(f"decoder.up.{i}.upsample.conv", block_in, block_in, 3)
    norm("decoder.norm_out", block_in)
    conv("decoder.conv_out", cfg.out_channels, block_in, 3)
    out["quantize.embedding.weight"] = ((cfg.n_embed, cfg.embed_dim), f32)
    conv("quant_conv", cfg.embed_dim, cfg.z_channels, 1)
    conv("post_quant_conv", cfg.z_channels, cfg.embed_dim, 1)
    return out
