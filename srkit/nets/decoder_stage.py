"""CCSR stage-2 decoders (Sun et al., CCSR, Sec. 3.3): the slot fine-tuned adversarially.

CCSR fine-tunes the VAE decoder on frozen stage-1 outputs. In latent mode that is
:class:`LatentDecoder` (the autoencoder's decoder, shared); in pixel mode there
is no decoder, so :class:`ResidualHead` adds a light learnable residual that is
exactly the identity at initialisation. Both map the stage-1 output to an image.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from srkit.nets.autoencoder import Autoencoder
from srkit.nets.config import DecoderHeadConfig
from srkit.nets.layers import conv3x3, zero_


class ResidualHead(nn.Module):
    """``out = x + head(x)``; ``head`` = 3x3 convs with SiLU, last conv zero-initialised.

    Zero weights and bias in the last conv make ``out == x`` exactly at
    initialisation, so stage 2 starts from the stage-1 result.
    """

    def __init__(self, channels: int = 3, hidden: int = 32, num_layers: int = 3) -> None:
        super().__init__()
        widths = [channels] + [hidden] * (num_layers - 1)
        layers: list[nn.Module] = []
        for cin, cout in itertools.pairwise(widths):
            layers += [conv3x3(cin, cout), nn.SiLU()]
        layers.append(zero_(conv3x3(hidden, channels)))
        self.head = nn.Sequential(*layers)

    @classmethod
    def from_config(cls, cfg: DecoderHeadConfig) -> ResidualHead:
        return cls(cfg.channels, cfg.hidden, cfg.num_layers)

    @property
    def last_layer_weight(self) -> nn.Parameter:
        return self.head[-1].weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.head(x)


class LatentDecoder(nn.Module):
    """Latent-mode stage-2 decoder: ``decoder(z / scale_factor)`` of a trained autoencoder.

    Shares the autoencoder's decoder module (its parameters are the trainable
    ones; the encoder is not part of this module) and copies its scale factor.
    """

    def __init__(self, autoencoder: Autoencoder) -> None:
        super().__init__()
        self.decoder = autoencoder.decoder
        self.register_buffer("scale_factor", autoencoder.scale_factor.detach().clone())

    @property
    def last_layer_weight(self) -> nn.Parameter:
        return self.decoder.last_layer_weight

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder((z / self.scale_factor).contiguous(memory_format=torch.channels_last))
