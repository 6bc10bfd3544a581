"""Read ncnn models (``.param`` text graph + ``.bin`` weights) as plain data, without ncnn.

``.param`` (ncnn's text format): a magic line ``7767517``, a line
``<layer count> <blob count>``, then one line per layer, ``<type> <name> <n in>
<n out> <in blobs...> <out blobs...> <key=value...>``. A negative key
``-23300 - k`` holds an array ``count,v1,v2,...`` for key ``k``.

``.bin``: the layers' weights concatenated in the order of the ``.param``. For a
``Convolution``, ncnn reads the kernel with a 4-byte tag (``0x01306B47`` = fp16;
ncnn also knows raw fp32 tag 0, which srkit does not need here) followed by
``weight_data_size`` values in (out, in, kh, kw) order, padded to 4 bytes, then,
when ``bias_term`` is 1, ``num_output`` raw float32 biases without a tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from srkit.errors import WeightsError

PARAM_MAGIC = 7767517
FP16_TAG = 0x01306B47
_ARRAY_KEY_BASE = -23300


@dataclass(frozen=True)
class Layer:
    """One line of a ``.param`` file."""

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, str | tuple[str, ...]]

    def int_param(self, key: int, default: int) -> int:
        value = self.params.get(key, default)
        return int(value) if not isinstance(value, tuple) else default

    def float_array(self, key: int) -> tuple[float, ...]:
        """Array parameter ``key`` (stored under ``-23300 - key``) as floats; empty when absent."""
        value = self.params.get(_ARRAY_KEY_BASE - key)
        return tuple(float(v) for v in value) if isinstance(value, tuple) else ()


@dataclass(frozen=True)
class Convolution:
    """The shape of one ncnn ``Convolution`` layer (square kernel, as Real-ESRGAN uses)."""

    name: str
    out_channels: int
    in_channels: int
    kernel: int
    bias: bool
    activation: int  # ncnn activation_type: 0 none, 1 ReLU, 2 LeakyReLU
    activation_params: tuple[float, ...]


def parse_param(path: Path) -> list[Layer]:
    """Every layer of an ncnn ``.param`` file, in file (= forward) order."""
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    if not lines or lines[0] != [str(PARAM_MAGIC)] or len(lines) < 2:
        raise WeightsError(f"{path} is not an ncnn .param file (magic {PARAM_MAGIC} missing)")
    layer_count = int(lines[1][0])
    layers = []
    for fields in lines[2:]:
        n_in, n_out = int(fields[2]), int(fields[3])
        blobs = fields[4 : 4 + n_in + n_out]
        params: dict[int, str | tuple[str, ...]] = {}
        for item in fields[4 + n_in + n_out :]:
            key, _, value = item.partition("=")
            k = int(key)
            params[k] = tuple(value.split(",")[1:]) if k <= _ARRAY_KEY_BASE else value
        layers.append(Layer(fields[0], fields[1], tuple(blobs[:n_in]), tuple(blobs[n_in:]), params))
    if len(layers) != layer_count:
        raise WeightsError(f"{path} announces {layer_count} layers but lists {len(layers)}")
    return layers


def convolution(layer: Layer) -> Convolution:
    """Shape of a ``Convolution`` layer from its parameters (0 num_output, 1 kernel, 5 bias_term, 6 weight_data_size)."""
    out_channels, kernel = layer.int_param(0, 0), layer.int_param(1, 1)
    if layer.int_param(11, kernel) != kernel:
        raise WeightsError(f"ncnn layer {layer.name}: non-square kernels are not supported")
    size = layer.int_param(6, 0)
    in_channels, rest = divmod(size, out_channels * kernel * kernel)
    if rest:
        raise WeightsError(f"ncnn layer {layer.name}: weight_data_size {size} is not out x in x k x k")
    return Convolution(
        layer.name, out_channels, in_channels, kernel, bool(layer.int_param(5, 0)), layer.int_param(9, 0), layer.float_array(10)
    )


def read_convolutions(path: Path, convs: list[Convolution]) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """``(weight (out, in, k, k) fp16, bias fp32 or None)`` of each of ``convs``, read in order from a ``.bin``.

    Every kernel must carry the fp16 tag, and the file must end exactly after the last layer.
    """
    data = Path(path).read_bytes()
    offset, out = 0, []

    def need(size: int, name: str) -> None:
        if offset + size > len(data):
            raise WeightsError(f"{path} ends inside layer {name} (truncated, or not this model's .bin)")

    for conv in convs:
        need(4, conv.name)
        tag = int.from_bytes(data[offset : offset + 4], "little")
        if tag != FP16_TAG:
            raise WeightsError(f"{path}: layer {conv.name} at byte {offset} has tag {tag:#010x}, not fp16 {FP16_TAG:#010x}")
        offset += 4
        count = conv.out_channels * conv.in_channels * conv.kernel**2
        need(2 * count + (4 * conv.out_channels if conv.bias else 0), conv.name)
        kernel = np.frombuffer(data, dtype="<f2", count=count, offset=offset)
        offset += (2 * count + 3) // 4 * 4
        bias = None
        if conv.bias:
            bias = torch.from_numpy(np.frombuffer(data, dtype="<f4", count=conv.out_channels, offset=offset).copy())
            offset += 4 * conv.out_channels
        shape = (conv.out_channels, conv.in_channels, conv.kernel, conv.kernel)
        out.append((torch.from_numpy(kernel.copy()).reshape(shape), bias))
    if offset != len(data):
        raise WeightsError(f"{path}: {len(data) - offset} bytes left after the last convolution (layout mismatch)")
    return out
