"""Conditional UNet of the SR3/ADM family: ``net(x, y, t) -> out``.

Layout of ADM (Dhariwal & Nichol 2021, "Diffusion Models Beat GANs", Sec. 3)
with SR3's conditioning (Saharia et al. 2022): the condition ``y`` (the LR
image resized to ``x``'s size, or its latent) is concatenated with ``x`` on the
channel axis. Timesteps enter through a sinusoidal embedding and an MLP that
modulates every residual block.

Input scaling is *not* done here: the diffusion engine owns it (each process's
``scale_model_input``; ResShift divides ``x_t`` by ``sqrt(kappa^2 eta_t + 1)``),
so the same network serves every process.
"""

from __future__ import annotations

import torch
from torch import nn

from srkit.nets.config import UNetConfig
from srkit.nets.embedding import timestep_embedding
from srkit.nets.layers import AttentionBlock, Downsample, Resample, ResBlock, Upsample, conv3x3, group_norm, zero_
from srkit.nets.padding import crop_to, pad_to_multiple


class UNetStage(nn.Module):
    """One resolution step of the UNet: a residual block, then optional attention."""

    def __init__(self, res: ResBlock, attn: AttentionBlock | None) -> None:
        super().__init__()
        self.res = res
        self.attn = attn

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.res(h, emb)
        return self.attn(h) if self.attn is not None else h


class Resampler(nn.Module):
    """A down/up-sampling step: a plain conv resampler, or an ADM up/down residual block."""

    def __init__(self, op: nn.Module) -> None:
        super().__init__()
        self.op = op

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.op(h, emb) if isinstance(self.op, ResBlock) else self.op(h)


class ConditionalUNet(nn.Module):
    """ADM-style UNet on ``cat(x, y)`` with timestep conditioning.

    Works on any spatial size: the input is reflect-padded to a multiple of
    ``2**(levels-1)`` and the output cropped back. ``t`` holds float timestep
    indices of shape ``(B,)`` (values up to ~2000). The output has
    ``cfg.out_channels`` channels and the dtype of ``x``; its last conv is
    zero-initialised (the untrained network outputs zeros, or ``y`` with
    ``cfg.condition_skip``, which returns ``y + body``). Runs under bf16/fp16
    autocast and channels-last memory format (``cfg.channels_last``).
    """

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        base = cfg.base_channels
        emb_channels = 4 * base
        self.time_mlp = nn.Sequential(nn.Linear(base, emb_channels), nn.SiLU(), nn.Linear(emb_channels, emb_channels))

        def res(cin: int, cout: int, resample: Resample = "none") -> ResBlock:
            return ResBlock(cin, cout, group_norm, emb_channels, cfg.dropout, cfg.use_scale_shift_norm, resample)

        def attn(channels: int) -> AttentionBlock:
            return AttentionBlock(channels, cfg.heads_for(channels), group_norm)

        self.input_conv = conv3x3(cfg.in_channels + cfg.cond_channels, base)
        self.down = nn.ModuleList()
        skip_channels = [base]
        ch = base
        for level, mult in enumerate(cfg.channel_mult):
            with_attn = 2**level in cfg.attention_resolutions
            for _ in range(cfg.num_res_blocks):
                self.down.append(UNetStage(res(ch, base * mult), attn(base * mult) if with_attn else None))
                ch = base * mult
                skip_channels.append(ch)
            if level < cfg.levels - 1:
                self.down.append(Resampler(res(ch, ch, "down") if cfg.resblock_updown else Downsample(ch)))
                skip_channels.append(ch)

        self.mid_in = res(ch, ch)
        self.mid_attn = attn(ch) if cfg.mid_attention else None
        self.mid_out = res(ch, ch)

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            with_attn = 2**level in cfg.attention_resolutions
            for _ in range(cfg.num_res_blocks + 1):
                self.up.append(
                    UNetStage(res(ch + skip_channels.pop(), base * mult), attn(base * mult) if with_attn else None)
                )
                ch = base * mult
            if level > 0:
                self.up.append(Resampler(res(ch, ch, "up") if cfg.resblock_updown else Upsample(ch)))

        self.out_norm = group_norm(ch)
        self.out_conv = zero_(conv3x3(ch, cfg.out_channels))
        if cfg.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x``: scaled noisy state, ``y``: condition of x's size, ``t``: (B,) timesteps."""
        if x.shape[-2:] != y.shape[-2:] or x.shape[0] != y.shape[0]:
            raise ValueError(f"x {tuple(x.shape)} and condition y {tuple(y.shape)} must share batch and spatial size")
        height, width = x.shape[-2:]
        h = torch.cat([x, y], dim=1) if self.cfg.cond_channels else x
        h = pad_to_multiple(h.to(self.input_conv.weight.dtype), self.cfg.pad_multiple)
        if self.cfg.channels_last:
            h = h.contiguous(memory_format=torch.channels_last)
        emb = self.time_mlp(timestep_embedding(t, self.cfg.base_channels).to(self.input_conv.weight.dtype))

        h = self.input_conv(h)
        skips = [h]
        for block in self.down:
            h = block(h, emb)
            skips.append(h)
        h = self.mid_in(h, emb)
        if self.mid_attn is not None:
            h = self.mid_attn(h)
        h = self.mid_out(h, emb)
        for block in self.up:
            if isinstance(block, UNetStage):
                h = torch.cat([h, skips.pop()], dim=1)
            h = block(h, emb)
        out = self.out_conv(torch.nn.functional.silu(self.out_norm(h)))
        out = crop_to(out, height, width).to(x.dtype)
        return out + y.to(x.dtype) if self.cfg.condition_skip else out
