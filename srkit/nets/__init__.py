"""Networks: conditional UNet, autoencoder, CCSR stage-2 decoders, PatchGAN, EMA.

Configs (:mod:`srkit.nets.config`) import without torch; the torch-backed names
below load on first access, so recipe loading stays light.

| module | one job |
| --- | --- |
| ``config`` | frozen, validated network configs and size presets |
| ``build`` | ``build_network(cfg)`` dispatch on the config type |
| ``unet`` | ``ConditionalUNet``: ``net(x, y, t)`` |
| ``autoencoder`` | factor-4 KL autoencoder, tiled encode/decode |
| ``decoder_stage`` | CCSR stage 2: ``ResidualHead`` (pixel), ``LatentDecoder`` (latent) |
| ``discriminator`` / ``losses`` | PatchGAN; reconstruction, KL, hinge / non-saturating GAN losses |
| ``ema`` / ``measure`` / ``state`` | EMA; params and FLOPs; unwrapping and loading (model id: ``srkit.io.checkpoints``) |
| ``layers`` / ``embedding`` / ``padding`` / ``tiling`` / ``compile`` | building blocks and helpers |
"""

from __future__ import annotations

import importlib
from typing import Any

from srkit.nets.config import (
    AutoencoderConfig,
    DecoderHeadConfig,
    DiscriminatorConfig,
    NetworkConfig,
    UNetConfig,
    autoencoder_preset,
    unet_preset,
)

_LAZY = {
    "build_network": "srkit.nets.build",
    "ConditionalUNet": "srkit.nets.unet",
    "Autoencoder": "srkit.nets.autoencoder",
    "ResidualHead": "srkit.nets.decoder_stage",
    "LatentDecoder": "srkit.nets.decoder_stage",
    "PatchDiscriminator": "srkit.nets.discriminator",
    "EMA": "srkit.nets.ema",
    "model_id": "srkit.io.checkpoints",
    "param_count": "srkit.nets.measure",
    "forward_flops": "srkit.nets.measure",
        "load_weights": "srkit.nets.state",
    "compile_if_available": "srkit.nets.compile",
}

__all__ = [
    "EMA",
    "Autoencoder",
    "AutoencoderConfig",
    "ConditionalUNet",
    "DecoderHeadConfig",
    "DiscriminatorConfig",
    "LatentDecoder",
    "NetworkConfig",
    "PatchDiscriminator",
    "ResidualHead",
    "UNetConfig",
    "autoencoder_preset",
    "build_network",
    "compile_if_available",
    "forward_flops",
    "load_weights",
    "model_id",
    "param_count",
    "unet_preset",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srkit.nets' has no attribute {name!r}")
