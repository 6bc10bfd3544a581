"""Building blocks shared by the UNet and the autoencoder (ADM / LDM layouts).

Every block accepts channels-last NCHW tensors and keeps that layout; attention
reads the channels-last storage as a token sequence without copying.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from srkit.nets.config import NormKind

NormFactory = Callable[[int], nn.Module]
Resample = Literal["none", "up", "down"]

MAX_GROUPS = 32
MIN_CHANNELS_PER_GROUP = 4


def group_count(channels: int) -> int:
    """Largest divisor of ``channels`` that is <= 32 and leaves >= 4 channels a group.

    ADM uses 32 groups everywhere, which is invalid or degenerate below 128
    channels; this rule gives 32 groups from 128 channels up and stays valid for
    tiny test widths (1 group below 8 channels).
    """
    limit = max(1, min(MAX_GROUPS, channels // MIN_CHANNELS_PER_GROUP))
    return next(g for g in range(limit, 0, -1) if channels % g == 0)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel (local, unlike GroupNorm)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The permute is a view of channels-last storage; layer_norm works on the last dim.
        y = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with :func:`group_count` groups."""
    return nn.GroupNorm(group_count(channels), channels, eps=1e-6)


def norm_factory(kind: NormKind) -> NormFactory:
    """``"group"``: :func:`group_norm`; ``"channel"``: :class:`ChannelLayerNorm`."""
    return ChannelLayerNorm if kind == "channel" else group_norm


def zero_(module: nn.Module) -> nn.Module:
    """Zero every parameter of ``module`` (residual branches start as identity)."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class Downsample(nn.Module):
    """Halve the spatial size with a stride-2 3x3 convolution (inputs have even size)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(channels, channels, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Double the spatial size: nearest-neighbour upsampling then a 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _resample(x: torch.Tensor, how: Resample) -> torch.Tensor:
    """Parameter-free resampling used inside up/down residual blocks (ADM ``resblock_updown``)."""
    if how == "up":
        return F.interpolate(x, scale_factor=2.0, mode="nearest")
    if how == "down":
        return F.avg_pool2d(x, 2)
    return x


class ResBlock(nn.Module):
    """Residual block: ``skip(x) + conv(drop(act(norm'(conv(act(norm(x)))))))`` (ADM).

    With a timestep embedding ``emb`` the block adds ``Linear(SiLU(emb))`` after
    the first conv, or, with ``scale_shift``, modulates the second norm as
    ``norm(h) * (1 + scale) + shift`` (ADM's ``use_scale_shift_norm``, Dhariwal &
    Nichol 2021, Sec. 3). The last conv is zero-initialised, so the block starts
    as its skip path. ``resample`` moves the up/down sampling inside the block.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: NormFactory,
        emb_channels: int | None = None,
        dropout: float = 0.0,
        scale_shift: bool = False,
        resample: Resample = "none",
    ) -> None:
        super().__init__()
        self.norm1 = norm(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels)
        self.scale_shift = scale_shift and emb_channels is not None
        self.emb_proj = (
            nn.Linear(emb_channels, out_channels * (2 if self.scale_shift else 1)) if emb_channels is not None else None
        )
        self.norm2 = norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_(conv3x3(out_channels, out_channels))
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)
        self.resample = resample

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = F.silu(self.norm1(x))
        h = self.conv1(_resample(h, self.resample))
        x = _resample(x, self.resample)
        if self.emb_proj is not None:
            if emb is None:
                raise ValueError("this ResBlock needs a timestep embedding")
            e = self.emb_proj(F.silu(emb))[:, :, None, None].to(h.dtype)
            if self.scale_shift:
                scale, shift = e.chunk(2, dim=1)
                h = self.norm2(h) * (1 + scale) + shift
            else:
                h = self.norm2(h + e)
        else:
            h = self.norm2(h)
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class AttentionBlock(nn.Module):
    """Global multi-head self-attention over pixels, residual, output projection zero-initialised.

    ``x + proj(softmax(q k^T / sqrt(d)) v)`` with q, k, v linear maps of
    ``norm(x)``; computed by ``F.scaled_dot_product_attention``.
    """

    def __init__(self, channels: int, num_heads: int, norm: NormFactory) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm = norm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = zero_(nn.Linear(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        heads = self.num_heads
        tokens = self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c)  # free for channels-last input
        q, k, v = self.qkv(tokens).view(b, h * w, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # (b, heads, hw, d)
        out = self.proj(out.transpose(1, 2).reshape(b, h * w, c))
        return x + out.view(b, h, w, c).permute(0, 3, 1, 2)
