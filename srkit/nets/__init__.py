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

from srkit._lazy import lazy_getattr

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
    "build_network": "build",
    "ConditionalUNet": "unet",
    "Autoencoder": "autoencoder",
    "ResidualHead": "decoder_stage",
    "LatentDecoder": "decoder_stage",
    "PatchDiscriminator": "discriminator",
    "EMA": "ema",
    "param_count": "measure",
    "forward_flops": "measure",
    "load_weights": "state",
    "compile_if_available": "compile",
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
    "param_count",
    "unet_preset",
]


__getattr__ = lazy_getattr("srkit.nets", _LAZY)
