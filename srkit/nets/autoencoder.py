"""KL-regularised autoencoder, factor 4, so every method can run in latent space.

Layout of LDM's AutoencoderKL (Rombach et al. 2022, Sec. 3 and App. G): a
convolutional encoder predicting the mean and log-variance of a diagonal
Gaussian posterior, and a mirrored decoder. ResShift (VQGAN-f4), DoSSR and CCSR
run their diffusion in such a latent. Latents are multiplied by
``scale_factor`` (a stored buffer, set by :meth:`Autoencoder.calibrate_scale`)
so they have roughly unit variance, as LDM does.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from srkit.nets.config import AutoencoderConfig
from srkit.nets.layers import AttentionBlock, Downsample, NormFactory, ResBlock, Upsample, conv3x3, norm_factory
from srkit.nets.padding import pad_to_multiple
from srkit.nets.tiling import tiled_map

LOGVAR_RANGE = (-30.0, 20.0)  # clamp of LDM's DiagonalGaussianDistribution


class MidBlock(nn.Module):
    """Bottleneck: residual block, optional self-attention, residual block."""

    def __init__(self, channels: int, norm: NormFactory, attention_heads: int | None) -> None:
        super().__init__()
        self.res_in = ResBlock(channels, channels, norm)
        self.attn = AttentionBlock(channels, attention_heads, norm) if attention_heads else None
        self.res_out = ResBlock(channels, channels, norm)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.res_in(h)
        if self.attn is not None:
            h = self.attn(h)
        return self.res_out(h)


def _heads(cfg: AutoencoderConfig) -> int | None:
    return cfg.num_heads if cfg.mid_attention else None


class Encoder(nn.Module):
    """Image ``(N, C, H, W)`` -> posterior moments ``(N, 2 * latent, H / f, W / f)``."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        norm = norm_factory(cfg.norm)
        ch = cfg.base_channels
        layers: list[nn.Module] = [conv3x3(cfg.in_channels, ch)]
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers.append(ResBlock(ch, cfg.base_channels * mult, norm))
                ch = cfg.base_channels * mult
            if level < len(cfg.channel_mult) - 1:
                layers.append(Downsample(ch))
        layers += [MidBlock(ch, norm, _heads(cfg)), norm(ch), nn.SiLU(), conv3x3(ch, 2 * cfg.latent_channels)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Decoder(nn.Module):
    """Latent ``(N, latent, h, w)`` -> image ``(N, C, h * f, w * f)``."""

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        norm = norm_factory(cfg.norm)
        ch = cfg.base_channels * cfg.channel_mult[-1]
        layers: list[nn.Module] = [conv3x3(cfg.latent_channels, ch), MidBlock(ch, norm, _heads(cfg))]
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            for _ in range(cfg.num_res_blocks + 1):
                layers.append(ResBlock(ch, cfg.base_channels * mult, norm))
                ch = cfg.base_channels * mult
            if level > 0:
                layers.append(Upsample(ch))
        layers += [norm(ch), nn.SiLU(), conv3x3(ch, cfg.in_channels)]
        self.layers = nn.Sequential(*layers)

    @property
    def last_layer_weight(self) -> nn.Parameter:
        """Weight of the output conv (for the adaptive adversarial weight of VQGAN)."""
        return self.layers[-1].weight

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z)


class AutoencoderOutput(NamedTuple):
    """Training forward: reconstruction and the posterior moments (for the KL term)."""

    reconstruction: torch.Tensor
    mean: torch.Tensor
    logvar: torch.Tensor


class Autoencoder(nn.Module):
    """Factor-``f`` autoencoder (``f = 4`` by default) on images in [-1, 1].

    ``encode(x) = scale_factor * mean(x)`` (x padded to a multiple of ``f``),
    ``decode(z) = decoder(z / scale_factor)``; decode returns ``f`` times the
    latent size, so crop to the original image size afterwards.
    """

    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.factor = cfg.factor
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.register_buffer("scale_factor", torch.tensor(float(cfg.scale_factor)))
        self.to(memory_format=torch.channels_last)

    def encode_moments(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unscaled posterior mean and clamped log-variance of ``x``."""
        x = pad_to_multiple(x, self.factor).contiguous(memory_format=torch.channels_last)
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(*LOGVAR_RANGE)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic latent: the posterior mean times ``scale_factor``."""
        return self.encode_moments(x)[0] * self.scale_factor

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder((z / self.scale_factor).contiguous(memory_format=torch.channels_last))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> AutoencoderOutput:
        """Training pass: sample ``z = mean + exp(logvar / 2) * eps`` and decode it (unscaled latent)."""
        mean, logvar = self.encode_moments(x)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return AutoencoderOutput(self.decoder(mean + torch.exp(0.5 * logvar) * eps), mean, logvar)

    def encode_tiled(self, x: torch.Tensor, tile: int = 512, overlap: int = 64) -> torch.Tensor:
        """:meth:`encode` over overlapping ``tile``-pixel tiles (multiples of ``f``), blended."""
        return tiled_map(self.encode, pad_to_multiple(x, self.factor), tile, overlap, num=1, den=self.factor)

    def decode_tiled(self, z: torch.Tensor, tile: int = 64, overlap: int = 16) -> torch.Tensor:
        """:meth:`decode` over overlapping ``tile``-latent-pixel tiles, blended."""
        return tiled_map(self.decode, z, tile, overlap, num=self.factor, den=1)

    @torch.no_grad()
    def calibrate_scale(self, x: torch.Tensor) -> float:
        """Set ``scale_factor = 1 / std(mean latents of x)`` (LDM's unit-variance rescaling)."""
        std = float(self.encode_moments(x)[0].float().std())
        self.scale_factor.fill_(1.0 / max(std, 1e-8))
        return float(self.scale_factor)
