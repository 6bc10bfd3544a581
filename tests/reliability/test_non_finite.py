"""Item 2 of issue 21: non-finite weights are refused on load; a non-finite image is never written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from srkit.errors import SrkitError, WeightsError
from srkit.io.checkpoints import load_checkpoint
from srkit.io.images import Image, write_image
from tests.cli.cli_helpers import assert_one_line_error, run


def _poisoned(weights: Path, target: Path, value: float, keep_metadata: bool) -> tuple[Path, str]:
    from safetensors import safe_open

    tensors = load_file(str(weights))
    name = sorted(k for k, t in tensors.items() if t.is_floating_point())[3]
    tensors[name] = torch.full_like(tensors[name], value)
    with safe_open(str(weights), framework="pt") as handle:
        metadata = handle.metadata()
    if keep_metadata:
        metadata = {k: v for k, v in metadata.items() if k != "model_id"}  # the hash would name the edit first
    save_file(tensors, str(target), metadata=metadata if keep_metadata else None)
    return target, name


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_load_checkpoint_names_the_first_non_finite_tensor(tmp_path: Path, weights: Path, value: float) -> None:
    path, name = _poisoned(weights, tmp_path / "bad.safetensors", value, keep_metadata=False)
    with pytest.raises(WeightsError) as info:
        load_checkpoint(path)
    assert "bad.safetensors" in str(info.value) and repr(name) in str(info.value) and "non-finite" in str(info.value)


def test_upscale_with_nan_weights_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    path, name = _poisoned(weights, tmp_path / "nan.safetensors", float("nan"), keep_metadata=True)
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", path)
    assert_one_line_error(code, err, 2, f"nan.safetensors holds non-finite values (NaN or infinity) in tensor {name!r}")
    assert not (tmp_path / "out").exists()


def test_write_image_never_writes_nan_pixels(tmp_path: Path) -> None:
    rgb = np.full((4, 4, 3), 0.5, np.float32)
    rgb[1, 2, 0] = np.nan
    with pytest.raises(SrkitError, match="NaN or infinite") as info:
        write_image(tmp_path / "x.png", Image(rgb=rgb))
    assert info.value.exit_code == 1
    assert list(tmp_path.iterdir()) == []


def test_overflowing_weights_end_in_one_line_exit_1_and_no_output_image(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    tensors = load_file(str(weights))
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        metadata = {k: v for k, v in handle.metadata().items() if k != "model_id"}
    tensors = {k: t * 1e30 if t.is_floating_point() and t.ndim > 1 else t for k, t in tensors.items()}  # finite, but overflows
    save_file(tensors, str(tmp_path / "huge.safetensors"), metadata=metadata)
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", tmp_path / "huge.safetensors")
    assert_one_line_error(code, err, 1, "NaN or infinite")
    assert not (tmp_path / "out").exists()
