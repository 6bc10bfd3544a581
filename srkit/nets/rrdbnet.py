"""RRDBNet (ESRGAN, Wang et al. 2018): the generator of Real-ESRGAN and the DoSSR preprocessor.

Layout and parameter names follow BasicSR's ``RRDBNet`` (``conv_first``,
``body.<i>.rdb{1,2,3}.conv{1..5}``, ``conv_body``, ``conv_up1``, ``conv_up2``,
``conv_hr``, ``conv_last``), so released state dicts load without renaming.

- Residual dense block (ESRGAN Sec. 3.1, Fig. 4): five 3x3 convs, each fed the
  concatenation of the block input and all earlier outputs; LeakyReLU(0.2) after
  the first four; output ``x + 0.2 * conv5``.
- RRDB: three dense blocks in series, output ``x + 0.2 * rdb3(rdb2(rdb1(x)))``.
- Upsampling: nearest x2, conv, LeakyReLU, twice (x4). Scales 2 and 1 first
  fold the input with ``pixel_unshuffle`` (factor 2 and 4), as BasicSR does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

RESIDUAL_SCALE = 0.2
NEGATIVE_SLOPE = 0.2


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs with a scaled residual (ESRGAN Fig. 4, left)."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), NEGATIVE_SLOPE))
        return x + RESIDUAL_SCALE * self.conv5(torch.cat(feats, 1))


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks and a scaled outer residual (ESRGAN Fig. 4)."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: Tensor) -> Tensor:
        return x + RESIDUAL_SCALE * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    """ESRGAN generator: ``out = net(x)`` maps an RGB image in [0, 1] to ``scale`` times its size.

    Real-ESRGAN x4plus: ``num_feat=64, num_block=23, num_grow_ch=32, scale=4``
    (16,697,987 parameters).
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet supports scale 1, 2 or 4, got {scale}")
        self.scale = scale
        self.unshuffle = {1: 4, 2: 2, 4: 1}[scale]
        self.conv_first = nn.Conv2d(num_in_ch * self.unshuffle**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        # Channels-last weights and activations: ~16% less CPU time per pixel (benchmarks/RESULTS.md,
        # "Network speed"); the values are the same convolutions, the output is returned contiguous.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x.contiguous(memory_format=torch.channels_last))
        feat = feat + self.conv_body(self.body(feat))
        for conv in (self.conv_up1, self.conv_up2):
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), NEGATIVE_SLOPE)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), NEGATIVE_SLOPE)).contiguous()
