"""The Swin layers of ResShift's Swin-UNet, in the official module layout (clean-room).

What differs from the Swin Transformer paper (Liu et al. 2021), as the official
ResShift code computes it (fixtures/official/README.md, ``resshift_unet``):

- the layer works on ``(B, C, H, W)`` maps: a 1x1 conv embeds ``C -> D``
  (``patch_embed.proj``), the blocks run, a 1x1 conv maps back (``patch_unembed.proj``);
  there is no residual around the layer;
- the norms are GroupNorm (32 groups, eps 1e-5, computed in float32) and the MLP
  is two 1x1 convs with exact GELU;
- the shift mask of a shifted block (:func:`shift_mask`) only separates tokens in
  the bottom row of windows, by their column inside the window; it is recomputed
  for every input size (the ``attn_mask`` buffers of official checkpoints are never read);
- a level whose build size is not larger than the window uses one window of that
  size and no shift.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srkit.errors import UsageError

MASK_VALUE = -100.0


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 and cast back (ADM's ``GroupNorm32``: 32 groups, eps 1e-5)."""

    def __init__(self, channels: int) -> None:
        super().__init__(32, channels, eps=1e-5)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.float()).to(x.dtype)


def relative_position_index(window: int) -> Tensor:
    """Index into the ``(2w-1)^2`` bias table for every token pair of a ``w x w`` window (Swin eq. (4)).

    Tokens are numbered row-major inside the window; the index of pair ``(i, j)`` is
    ``(dr + w - 1) * (2w - 1) + (dc + w - 1)`` with ``(dr, dc)`` the offset of ``i`` from ``j``.
    """
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([rows.flatten(), cols.flatten()])  # 2, N
    rel = coords[:, :, None] - coords[:, None, :] + (window - 1)  # 2, N, N
    return rel[0] * (2 * window - 1) + rel[1]


def shift_mask(height: int, width: int, window: int, shift: int) -> Tensor:
    """The official additive mask ``(num_windows, w^2, w^2)`` of a shifted block at a ``height x width`` map.

    Windows are numbered row-major. Only the windows of the bottom row are masked;
    inside them a token in the first ``w - shift`` columns and one in the last
    ``shift`` columns get ``-100``; every other pair gets 0 (fixtures README).
    """
    rows, cols = height // window, width // window
    mask = torch.zeros(rows * cols, window * window, window * window)
    if shift == 0:
        return mask
    column = torch.arange(window * window) % window
    group = (column >= window - shift).long()
    split = (group[:, None] != group[None, :]).float() * MASK_VALUE
    mask[(rows - 1) * cols :] = split
    return mask


def window_partition(x: Tensor, window: int) -> Tensor:
    """``(B, H, W, C)`` -> ``(B * num_windows, w*w, C)``, windows row-major, tokens row-major."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def window_reverse(windows: Tensor, window: int, height: int, width: int) -> Tensor:
    """Inverse of :func:`window_partition`: ``(B * num_windows, w*w, C)`` -> ``(B, H, W, C)``."""
    c = windows.shape[-1]
    b = windows.shape[0] // ((height // window) * (width // window))
    x = windows.view(b, height // window, width // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, height, width, c)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned relative-position bias (Swin eq. (4))."""

    def __init__(self, dim: int, window: int, num_heads: int) -> None:
        super().__init__()
        self.window = window
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window), persistent=False)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        """``x``: ``(B * num_windows, N, C)``; ``mask``: ``(num_windows, N, N)`` additive, or None."""
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        attn = attn + bias.reshape(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.view(bw // windows, windows, self.num_heads, n, n) + mask[None, :, None].to(attn.dtype)
            attn = attn.view(bw, self.num_heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class Mlp(nn.Module):
    """Two 1x1 convs with exact GELU between them."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    """One (shifted-)window block on ``(B, D, H, W)``: ``x + attn(norm1 x)``, then ``x + mlp(norm2 x)``."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: int, mlp_ratio: float) -> None:
        super().__init__()
        self.window = window
        self.shift = shift
        self.norm1 = GroupNorm32(dim)
        self.attn = WindowAttention(dim, window, num_heads)
        self.norm2 = GroupNorm32(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % self.window or w % self.window:
            raise UsageError(f"Swin window {self.window} does not divide a {h}x{w} feature map; pad the input")
        y = self.norm1(x).permute(0, 2, 3, 1)
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        mask = shift_mask(h, w, self.window, self.shift).to(x.device) if self.shift else None
        y = window_reverse(self.attn(window_partition(y, self.window), mask), self.window, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.permute(0, 3, 1, 2)
        return x + self.mlp(self.norm2(x))


class PatchConv(nn.Module):
    """A 1x1 conv named ``proj`` (the official patch embed/unembed with patch size 1, no norm)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x)


class SwinLayer(nn.Module):
    """``patch_unembed(blocks(patch_embed(x)))`` with ``depth`` blocks, every odd one shifted.

    ``build_size`` is the level's size at the build resolution: if it is not larger than
    ``window`` the layer uses one window of that size and no shift (official rule).
    """

    def __init__(
        self, channels: int, dim: int, num_heads: int, window: int, depth: int, mlp_ratio: float, build_size: int
    ) -> None:
        super().__init__()
        if build_size <= window:
            window, shift = build_size, 0
        else:
            shift = window // 2
        self.patch_embed = PatchConv(channels, dim)
        self.blocks = nn.ModuleList(
            SwinBlock(dim, num_heads, window, shift if i % 2 else 0, mlp_ratio) for i in range(depth)
        )
        self.patch_unembed = PatchConv(dim, channels)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_embed(x)
        for block in self.blocks:
            x = block(x)
        return self.patch_unembed(x)
