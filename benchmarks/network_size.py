"""Parameter counts and FLOPs per forward of srkit's networks at a given output size.

    python benchmarks/network_size.py            # 256x256 outputs
    python benchmarks/network_size.py --size 512

UNets are measured in pixel mode (x and the upsampled LR at the output size) and
in latent mode (4-channel latents at 1/4 of the size, as ResShift/DoSSR/CCSR
run). FLOPs come from ``torch.utils.flop_counter`` (2 per multiply-add;
convolutions, matmuls and attention only) on meta tensors, so nothing is
computed and the 40M model costs no memory.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from srkit.nets.build import build_network
from srkit.nets.config import UNetConfig, DecoderHeadConfig, DiscriminatorConfig, NetworkConfig, autoencoder_preset, unet_preset
from srkit.nets.measure import forward_flops, param_count
from srkit.recipes import list_recipes, load_recipe

LATENT_CHANNELS = 4
LATENT_FACTOR = 4


@dataclass(frozen=True)
class Entry:
    """A network to measure: its config and how to call it on a ``size x size`` output."""

    name: str
    cfg: NetworkConfig
    call: Callable[[nn.Module, int], tuple[Callable[..., torch.Tensor], tuple[torch.Tensor, ...]]]


def _unet_call(channels: int, factor: int):
    def call(net: nn.Module, size: int):
        s = size // factor
        x = torch.empty(1, channels, s, s)
        return net, (x, torch.empty_like(x), torch.zeros(1))

    return call


def _image_call(method: str):
    def call(net: nn.Module, size: int):
        fn = getattr(net, method) if method != "forward" else net
        if method == "decode":
            return fn, (torch.empty(1, LATENT_CHANNELS, size // LATENT_FACTOR, size // LATENT_FACTOR),)
        return fn, (torch.empty(1, 3, size, size),)

    return call


def entries() -> list[Entry]:
    rows: list[Entry] = []
    for name in ("tiny", "small", "base"):
        rows.append(Entry(f"unet-{name} (pixel)", unet_preset(name), _unet_call(3, 1)))
        latent = unet_preset(
            name, in_channels=LATENT_CHANNELS, cond_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS
        )
        rows.append(Entry(f"unet-{name} (latent f4)", latent, _unet_call(LATENT_CHANNELS, LATENT_FACTOR)))
    for recipe_name in list_recipes():
        recipe = load_recipe(recipe_name)
        if isinstance(recipe.network, UNetConfig):
            factor = LATENT_FACTOR if recipe.mode == "latent" else 1
            rows.append(Entry(f"recipe {recipe_name} ({recipe.mode})", recipe.network, _unet_call(recipe.network.in_channels, factor)))
    ae = autoencoder_preset("f4")
    rows.append(Entry("autoencoder-f4 encode", ae, _image_call("encode")))
    rows.append(Entry("autoencoder-f4 decode", ae, _image_call("decode")))
    rows.append(Entry("ccsr pixel head", DecoderHeadConfig(), _image_call("forward")))
    rows.append(Entry("patchgan discriminator", DiscriminatorConfig(), _image_call("forward")))
    return rows


def measure(entry: Entry, size: int) -> tuple[int, int]:
    """(parameters, FLOPs of one call) of ``entry`` at a ``size x size`` output, on the meta device."""
    with torch.device("meta"):
        net = build_network(entry.cfg).eval()
        fn, inputs = entry.call(net, size)
        flops = forward_flops(fn, *inputs)
    return param_count(net), flops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="output image side in pixels (default 256)")
    args = parser.parse_args()
    print(f"{'network':<28} {'params (M)':>11} {'GFLOPs @' + str(args.size):>13}")
    for entry in entries():
        params, flops = measure(entry, args.size)
        print(f"{entry.name:<28} {params / 1e6:>11.3f} {flops / 1e9:>13.2f}")


if __name__ == "__main__":
    main()
