"""PatchGAN discriminator (Isola et al. 2017, pix2pix; the VQGAN discriminator).

``num_layers`` stride-2 4x4 convolutions doubling the width (capped at 8x),
one stride-1 stage, and a 1-channel 4x4 output: one real/fake logit per
overlapping patch (70x70 pixels for 3 layers). LeakyReLU(0.2); weights drawn
from N(0, 0.02) as in pix2pix.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from srkit.nets.config import DiscriminatorConfig, DiscriminatorNorm
from srkit.nets.layers import group_norm

MAX_WIDTH_MULT = 8
INIT_STD = 0.02


def _norm_layer(kind: DiscriminatorNorm) -> Callable[[int], nn.Module]:
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "group":
        return group_norm
    return lambda channels: nn.Identity()


class PatchDiscriminator(nn.Module):
    """Per-patch logits ``(N, 1, ~H/2^L, ~W/2^L)`` for images ``(N, C, H, W)`` in [-1, 1]."""

    def __init__(self, cfg: DiscriminatorConfig) -> None:
        super().__init__()
        norm = _norm_layer(cfg.norm)
        conv: Callable[..., nn.Module] = (
            (lambda *a, **k: spectral_norm(nn.Conv2d(*a, **k))) if cfg.norm == "spectral" else nn.Conv2d
        )
        with_bias = cfg.norm in ("none", "spectral")
        widths = [cfg.base_channels * min(2**i, MAX_WIDTH_MULT) for i in range(cfg.num_layers + 1)]
        layers: list[nn.Module] = [conv(cfg.in_channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for i in range(1, cfg.num_layers + 1):
            stride = 2 if i < cfg.num_layers else 1
            layers += [conv(widths[i - 1], widths[i], 4, stride, 1, bias=with_bias), norm(widths[i]), nn.LeakyReLU(0.2)]
        layers.append(conv(widths[-1], 1, 4, 1, 1))
        self.layers = nn.Sequential(*layers)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
                nn.init.normal_(weight, 0.0, INIT_STD)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.normal_(m.weight, 1.0, INIT_STD)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
