"""The official ``ControlLDM`` key set (names and shapes) for any config, written from the LDM module layout.

Independent of diffusers and of srkit's converter: the reduced fixture key sets check
this generator (``test_official_keys_generator_reproduces_the_fixture_key_sets``), and
its full-size output is what a real ``dossr_default.ckpt`` / ``real-world_ccsr.ckpt``
holds, for the slow conversion test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Shapes = dict[str, tuple[int, ...]]


@dataclass(frozen=True)
class LDMConfig:
    """The sizes of a DoSSR / CCSR v1 ``ControlLDM`` (defaults: the full official ones)."""

    model_channels: int = 320
    channel_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    attention_levels: tuple[int, ...] = (0, 1, 2)
    context_dim: int = 1024
    hint_channels: int = 4
    vae_ch: int = 128
    vae_ch_mult: tuple[int, ...] = (1, 2, 4, 4)
    vae_res_blocks: int = 2
    z_channels: int = 4
    rrdb: tuple[int, int, int] | None = (64, 23, 32)  # num_feat, num_block, num_grow_ch
    text_width: int = 1024
    text_layers: int = 24
    schedule_buffers: tuple[str, ...] = field(default=(
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
    ))


def _res(p: str, cin: int, cout: int, emb: int) -> Shapes:
    keys = {
        f"{p}.in_layers.0.weight": (cin,), f"{p}.in_layers.0.bias": (cin,),
        f"{p}.in_layers.2.weight": (cout, cin, 3, 3), f"{p}.in_layers.2.bias": (cout,),
        f"{p}.emb_layers.1.weight": (cout, emb), f"{p}.emb_layers.1.bias": (cout,),
        f"{p}.out_layers.0.weight": (cout,), f"{p}.out_layers.0.bias": (cout,),
        f"{p}.out_layers.3.weight": (cout, cout, 3, 3), f"{p}.out_layers.3.bias": (cout,),
    }
    if cin != cout:
        keys.update({f"{p}.skip_connection.weight": (cout, cin, 1, 1), f"{p}.skip_connection.bias": (cout,)})
    return keys


def _transformer(p: str, c: int, context: int) -> Shapes:
    b = f"{p}.transformer_blocks.0"
    keys = {f"{p}.norm.weight": (c,), f"{p}.norm.bias": (c,), f"{p}.proj_in.weight": (c, c), f"{p}.proj_in.bias": (c,),
            f"{p}.proj_out.weight": (c, c), f"{p}.proj_out.bias": (c,)}
    for attn, kv in (("attn1", c), ("attn2", context)):
        keys.update({f"{b}.{attn}.to_q.weight": (c, c), f"{b}.{attn}.to_k.weight": (c, kv), f"{b}.{attn}.to_v.weight": (c, kv),
                     f"{b}.{attn}.to_out.0.weight": (c, c), f"{b}.{attn}.to_out.0.bias": (c,)})
    keys.update({f"{b}.ff.net.0.proj.weight": (8 * c, c), f"{b}.ff.net.0.proj.bias": (8 * c,),
                 f"{b}.ff.net.2.weight": (c, 4 * c), f"{b}.ff.net.2.bias": (c,)})
    for n in (1, 2, 3):
        keys.update({f"{b}.norm{n}.weight": (c,), f"{b}.norm{n}.bias": (c,)})
    return keys


def unet_keys(cfg: LDMConfig, p: str, *, in_channels: int, control: bool) -> Shapes:
    """``openaimodel.UNetModel`` (``control=False``, with output blocks) or ``cldm.ControlNet`` (zero convs)."""
    C, emb = cfg.model_channels, 4 * cfg.model_channels
    keys: Shapes = {f"{p}time_embed.0.weight": (emb, C), f"{p}time_embed.0.bias": (emb,),
                    f"{p}time_embed.2.weight": (emb, emb), f"{p}time_embed.2.bias": (emb,),
                    f"{p}input_blocks.0.0.weight": (C, in_channels, 3, 3), f"{p}input_blocks.0.0.bias": (C,)}
    chans, ch, b = [C], C, 1
    for level, mult in enumerate(cfg.channel_mult):
        for _ in range(cfg.num_res_blocks):
            keys.update(_res(f"{p}input_blocks.{b}.0", ch, mult * C, emb))
            ch = mult * C
            if level in cfg.attention_levels:
                keys.update(_transformer(f"{p}input_blocks.{b}.1", ch, cfg.context_dim))
            chans.append(ch)
            b += 1
        if level != len(cfg.channel_mult) - 1:
            keys.update({f"{p}input_blocks.{b}.0.op.weight": (ch, ch, 3, 3), f"{p}input_blocks.{b}.0.op.bias": (ch,)})
            chans.append(ch)
            b += 1
    keys.update(_res(f"{p}middle_block.0", ch, ch, emb))
    keys.update(_transformer(f"{p}middle_block.1", ch, cfg.context_dim))
    keys.update(_res(f"{p}middle_block.2", ch, ch, emb))
    if control:
        for i, c in enumerate(chans):
            keys.update({f"{p}zero_convs.{i}.0.weight": (c, c, 1, 1), f"{p}zero_convs.{i}.0.bias": (c,)})
        keys.update({f"{p}middle_block_out.0.weight": (ch, ch, 1, 1), f"{p}middle_block_out.0.bias": (ch,)})
        return keys
    b = 0
    for level, mult in reversed(list(enumerate(cfg.channel_mult))):
        for i in range(cfg.num_res_blocks + 1):
            skip = chans.pop()
            keys.update(_res(f"{p}output_blocks.{b}.0", ch + skip, mult * C, emb))
            ch = mult * C
            sub = 1
            if level in cfg.attention_levels:
                keys.update(_transformer(f"{p}output_blocks.{b}.1", ch, cfg.context_dim))
                sub = 2
            if level and i == cfg.num_res_blocks:
                keys.update({f"{p}output_blocks.{b}.{sub}.conv.weight": (ch, ch, 3, 3), f"{p}output_blocks.{b}.{sub}.conv.bias": (ch,)})
            b += 1
    keys.update({f"{p}out.0.weight": (C,), f"{p}out.0.bias": (C,), f"{p}out.2.weight": (4, C, 3, 3), f"{p}out.2.bias": (4,)})
    return keys


def _vae_res(p: str, cin: int, cout: int) -> Shapes:
    keys = {f"{p}.norm1.weight": (cin,), f"{p}.norm1.bias": (cin,), f"{p}.conv1.weight": (cout, cin, 3, 3), f"{p}.conv1.bias": (cout,),
            f"{p}.norm2.weight": (cout,), f"{p}.norm2.bias": (cout,), f"{p}.conv2.weight": (cout, cout, 3, 3), f"{p}.conv2.bias": (cout,)}
    if cin != cout:
        keys.update({f"{p}.nin_shortcut.weight": (cout, cin, 1, 1), f"{p}.nin_shortcut.bias": (cout,)})
    return keys


def _vae_mid(p: str, c: int) -> Shapes:
    keys = {**_vae_res(f"{p}.block_1", c, c), **_vae_res(f"{p}.block_2", c, c)}
    keys.update({f"{p}.attn_1.norm.weight": (c,), f"{p}.attn_1.norm.bias": (c,)})
    for n in ("q", "k", "v", "proj_out"):
        keys.update({f"{p}.attn_1.{n}.weight": (c, c, 1, 1), f"{p}.attn_1.{n}.bias": (c,)})
    return keys


def encoder_keys(cfg: LDMConfig, p: str) -> Shapes:
    """LDM ``Encoder`` (double z) plus ``quant_conv``, under ``p``."""
    ch, mults, z = cfg.vae_ch, cfg.vae_ch_mult, cfg.z_channels
    keys: Shapes = {f"{p}encoder.conv_in.weight": (ch, 3, 3, 3), f"{p}encoder.conv_in.bias": (ch,)}
    block_in = ch
    for i, mult in enumerate(mults):
        for j in range(cfg.vae_res_blocks):
            keys.update(_vae_res(f"{p}encoder.down.{i}.block.{j}", block_in, ch * mult))
            block_in = ch * mult
        if i != len(mults) - 1:
            keys.update({f"{p}encoder.down.{i}.downsample.conv.weight": (block_in, block_in, 3, 3),
                         f"{p}encoder.down.{i}.downsample.conv.bias": (block_in,)})
    keys.update(_vae_mid(f"{p}encoder.mid", block_in))
    keys.update({f"{p}encoder.norm_out.weight": (block_in,), f"{p}encoder.norm_out.bias": (block_in,),
                 f"{p}encoder.conv_out.weight": (2 * z, block_in, 3, 3), f"{p}encoder.conv_out.bias": (2 * z,),
                 f"{p}quant_conv.weight": (2 * z, 2 * z, 1, 1), f"{p}quant_conv.bias": (2 * z,)})
    return keys


def vae_keys(cfg: LDMConfig, p: str) -> Shapes:
    """LDM ``AutoencoderKL``: encoder, quant convs, decoder."""
    ch, mults, z = cfg.vae_ch, cfg.vae_ch_mult, cfg.z_channels
    keys = encoder_keys(cfg, p)
    block_in = ch * mults[-1]
    keys.update({f"{p}decoder.conv_in.weight": (block_in, z, 3, 3), f"{p}decoder.conv_in.bias": (block_in,),
                 f"{p}post_quant_conv.weight": (z, z, 1, 1), f"{p}post_quant_conv.bias": (z,)})
    keys.update(_vae_mid(f"{p}decoder.mid", block_in))
    for i in reversed(range(len(mults))):
        for j in range(cfg.vae_res_blocks + 1):
            keys.update(_vae_res(f"{p}decoder.up.{i}.block.{j}", block_in, ch * mults[i]))
            block_in = ch * mults[i]
        if i:
            keys.update({f"{p}decoder.up.{i}.upsample.conv.weight": (block_in, block_in, 3, 3),
                         f"{p}decoder.up.{i}.upsample.conv.bias": (block_in,)})
    keys.update({f"{p}decoder.norm_out.weight": (block_in,), f"{p}decoder.norm_out.bias": (block_in,),
                 f"{p}decoder.conv_out.weight": (3, block_in, 3, 3), f"{p}decoder.conv_out.bias": (3,)})
    return keys


def rrdb_keys(num_feat: int, num_block: int, grow: int, p: str) -> Shapes:
    keys: Shapes = {f"{p}conv_first.weight": (num_feat, 3, 3, 3), f"{p}conv_first.bias": (num_feat,)}
    for b in range(num_block):
        for r in (1, 2, 3):
            for n in range(1, 6):
                cout = num_feat if n == 5 else grow
                keys.update({f"{p}body.{b}.rdb{r}.conv{n}.weight": (cout, num_feat + (n - 1) * grow, 3, 3),
                             f"{p}body.{b}.rdb{r}.conv{n}.bias": (cout,)})
    for n in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        keys.update({f"{p}{n}.weight": (num_feat, num_feat, 3, 3), f"{p}{n}.bias": (num_feat,)})
    keys.update({f"{p}conv_last.weight": (3, num_feat, 3, 3), f"{p}conv_last.bias": (3,)})
    return keys


def open_clip_text_keys(width: int, layers: int, p: str = "cond_stage_model.model.") -> Shapes:
    """OpenCLIP's text tower as ``FrozenOpenCLIPEmbedder`` keeps it (the visual tower deleted)."""
    keys: Shapes = {f"{p}positional_embedding": (77, width), f"{p}token_embedding.weight": (49408, width),
                    f"{p}ln_final.weight": (width,), f"{p}ln_final.bias": (width,), f"{p}text_projection": (width, width),
                    f"{p}logit_scale": ()}
    for i in range(layers):
        b = f"{p}transformer.resblocks.{i}"
        keys.update({f"{b}.ln_1.weight": (width,), f"{b}.ln_1.bias": (width,), f"{b}.ln_2.weight": (width,), f"{b}.ln_2.bias": (width,),
                     f"{b}.attn.in_proj_weight": (3 * width, width), f"{b}.attn.in_proj_bias": (3 * width,),
                     f"{b}.attn.out_proj.weight": (width, width), f"{b}.attn.out_proj.bias": (width,),
                     f"{b}.mlp.c_fc.weight": (4 * width, width), f"{b}.mlp.c_fc.bias": (4 * width,),
                     f"{b}.mlp.c_proj.weight": (width, 4 * width), f"{b}.mlp.c_proj.bias": (width,)})
    return keys


def controlldm_keys(cfg: LDMConfig, *, text: bool = True, dossr: bool = True) -> Shapes:
    """The whole official state dict: UNet, ControlNet, VAE, cond encoder, (RRDBNet), (text tower), schedule buffers."""
    keys: Shapes = {}
    keys.update(unet_keys(cfg, "model.diffusion_model.", in_channels=4, control=False))
    keys.update(unet_keys(cfg, "control_model.", in_channels=4 + cfg.hint_channels, control=True))
    keys.update(vae_keys(cfg, "first_stage_model."))
    keys.update(encoder_keys(cfg, "cond_encoder."))
    if dossr and cfg.rrdb:
        keys.update(rrdb_keys(*cfg.rrdb, "preprocess_model."))
    if text:
        keys.update(open_clip_text_keys(cfg.text_width, cfg.text_layers))
    for name in cfg.schedule_buffers:
        keys[name] = (1000,)
    if dossr:
        keys.update({"lambdas": (1000,), "one_minus_lambdas": (1000,)})
    return keys
