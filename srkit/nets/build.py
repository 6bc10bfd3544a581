"""Build any network from its configuration (a recipe's ``network:`` block)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from srkit.errors import RecipeError
from srkit.io.resources import check_module_fits
from srkit.nets.autoencoder import Autoencoder
from srkit.nets.config import AutoencoderConfig, DecoderHeadConfig, DiscriminatorConfig, NetworkConfig, UNetConfig
from srkit.nets.decoder_stage import ResidualHead
from srkit.nets.discriminator import PatchDiscriminator
from srkit.nets.unet import ConditionalUNet

_BUILDERS: dict[type, Callable[..., nn.Module]] = {
    UNetConfig: ConditionalUNet,
    AutoencoderConfig: Autoencoder,
    DecoderHeadConfig: ResidualHead.from_config,
    DiscriminatorConfig: PatchDiscriminator,
}


def build_network(cfg: NetworkConfig, seed: int | None = None) -> nn.Module:
    """The network a config describes, on CPU in float32.

    With ``seed``, the initial weights come from a private generator seeded with
    it (the global torch RNG is left untouched), so the same seed gives the same
    weights on every run.
    """
    builder = _BUILDERS.get(type(cfg))
    if builder is None:
        raise RecipeError(
            f"network: no network is built from a {type(cfg).__name__}; expected one of "
            + ", ".join(t.__name__ for t in _BUILDERS)
        )
    check_module_fits(builder, cfg)  # a huge config: one line saying what it needs, before allocating it
    if seed is None:
        return builder(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builder(cfg)
