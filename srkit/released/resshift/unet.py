"""ResShift's Swin-UNet (official ``UNetModelSwin``), rebuilt with the official module names (clean-room).

An ADM UNet (Dhariwal & Nichol 2021): ResBlocks with scale-shift norm
(``GroupNorm(h) * (1 + scale) + shift``), conv down/up-sampling, skip
concatenation; a :class:`~srkit.released.resshift.swin.SwinLayer` after the
first ResBlock of every level marked in ``swin_levels`` (input and output side)
and in the middle block. The LR image (``lq``, [-1, 1], at latent size) is
concatenated after the latent ``x``; the timestep is the integer index fed to a
sinusoidal embedding (cos first, max period 10000). Every size comes from
:class:`SwinUNetConfig`, which the converter infers from tensor shapes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srkit.errors import UsageError
from srkit.released.resshift.swin import GroupNorm32, SwinLayer


@dataclass(frozen=True)
class SwinUNetConfig:
    """Sizes of one Swin-UNet (official ``UNetModelSwin`` arguments, as srkit needs them)."""

    in_channels: int = 3
    lq_channels: int = 3
    out_channels: int = 3
    model_channels: int = 160
    channel_mult: tuple[int, ...] = (1, 2, 2, 4)
    num_res_blocks: tuple[int, ...] = (2, 2, 2, 2)
    swin_levels: tuple[bool, ...] = (True, True, True, True)
    swin_mid: bool = True
    swin_embed_dim: int = 192
    num_heads: int = 6
    window_size: int = 8
    swin_depth: int = 2
    mlp_ratio: float = 4.0
    image_size: int = 64

    def __post_init__(self) -> None:
        levels = len(self.channel_mult)
        if len(self.num_res_blocks) != levels or len(self.swin_levels) != levels:
            raise UsageError("Swin-UNet config: channel_mult, num_res_blocks and swin_levels need one entry per level")

    @property
    def pad_multiple(self) -> int:
        """Latent sizes must be multiples of this: the bottom level must split into windows."""
        return self.image_size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SwinUNetConfig:
        fields = dict(data)
        for name in ("channel_mult", "num_res_blocks", "swin_levels"):
            fields[name] = tuple(fields[name])
        return cls(**fields)


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """ADM's sinusoidal embedding ``[cos(t f), sin(t f)]`` with ``f_i = max_period^(-i/half)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


class ResBlock(nn.Module):
    """ADM ResBlock with scale-shift norm: ``skip(x) + conv(SiLU(GN(h) (1 + s) + b))``, ``h = conv(SiLU(GN x))``."""

    def __init__(self, channels: int, emb_dim: int, out_channels: int) -> None:
        super().__init__()
        self.in_layers = nn.Sequential(GroupNorm32(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, 2 * out_channels))
        self.out_layers = nn.Sequential(
            GroupNorm32(out_channels), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(out_channels, out_channels, 3, padding=1)
        )
        self.skip_connection = nn.Identity() if channels == out_channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.in_layers(x)
        scale, shift = self.emb_layers(emb).to(h.dtype)[..., None, None].chunk(2, dim=1)
        h = self.out_layers[0](h) * (1 + scale) + shift
        for layer in self.out_layers[1:]:
            h = layer(h)
        return self.skip_connection(x) + h


class Downsample(nn.Module):
    """A stride-2 3x3 conv named ``op``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x)


class Upsample(nn.Module):
    """Nearest x2, then a 3x3 conv named ``conv``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class EmbedSequential(nn.Sequential):
    """Runs its layers in order, giving the timestep embedding to the ResBlocks only."""

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class SwinUNet(nn.Module):
    """``net(x, t, lq) -> x0_hat``: the official ``UNetModelSwin`` forward (module docstring)."""

    def __init__(self, cfg: SwinUNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        mc = cfg.model_channels
        emb_dim = 4 * mc
        self.time_embed = nn.Sequential(nn.Linear(mc, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))

        def swin(channels: int, level: int) -> SwinLayer:
            return SwinLayer(
                channels, cfg.swin_embed_dim, cfg.num_heads, cfg.window_size, cfg.swin_depth, cfg.mlp_ratio,
                cfg.image_size // 2**level,
            )

        self.input_blocks = nn.ModuleList(
            [EmbedSequential(nn.Conv2d(cfg.in_channels + cfg.lq_channels, mc, 3, padding=1))]
        )
        skips = [mc]
        ch = mc
        levels = len(cfg.channel_mult)
        for level, mult in enumerate(cfg.channel_mult):
            for i in range(cfg.num_res_blocks[level]):
                layers: list[nn.Module] = [ResBlock(ch, emb_dim, mult * mc)]
                ch = mult * mc
                if cfg.swin_levels[level] and i == 0:
                    layers.append(swin(ch, level))
                self.input_blocks.append(EmbedSequential(*layers))
                skips.append(ch)
            if level != levels - 1:
                self.input_blocks.append(EmbedSequential(Downsample(ch)))
                skips.append(ch)
        middle: list[nn.Module] = [ResBlock(ch, emb_dim, ch)]
        if cfg.swin_mid:
            middle.append(swin(ch, levels - 1))
        middle.append(ResBlock(ch, emb_dim, ch))
        self.middle_block = EmbedSequential(*middle)
        self.output_blocks = nn.ModuleList()
        for level in reversed(range(levels)):
            mult = cfg.channel_mult[level]
            for i in range(cfg.num_res_blocks[level] + 1):
                layers = [ResBlock(ch + skips.pop(), emb_dim, mult * mc)]
                ch = mult * mc
                if cfg.swin_levels[level] and i == 0:
                    layers.append(swin(ch, level))
                if level and i == cfg.num_res_blocks[level]:
                    layers.append(Upsample(ch))
                self.output_blocks.append(EmbedSequential(*layers))
        self.out = nn.Sequential(GroupNorm32(ch), nn.SiLU(), nn.Conv2d(ch, cfg.out_channels, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor, lq: Tensor) -> Tensor:
        """``x`` the scaled latent (B, C, H, W), ``t`` integer indices (B,), ``lq`` the LR in [-1, 1] at (H, W)."""
        emb = self.time_embed(timestep_embedding(t, self.cfg.model_channels).to(x.dtype))
        h = torch.cat([x, lq.to(x.dtype)], dim=1)
        skips = []
        for block in self.input_blocks:
            h = block(h, emb)
            skips.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(h)
