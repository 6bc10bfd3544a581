"""Outputs of the built-in models at a fixed seed, pinned by hash (refactors must leave them bit-identical).

The dossr pins changed with the retrained built-in dossr on the Real-ESRGAN preprocessor (issue 19).

Each case runs one tiny image through the path of ``srkit upscale`` (library and
CLI) with a sampler whose maths is fixed; the sampler settings are spelt out
(e.g. the timestep spacing) so a change of a documented default does not move
them. A changed hash means the outputs changed: that is a behaviour change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.io.images import read_image, write_image
from tests.cli.cli_helpers import run

# (method, CLI sampler options, recipe sampler overrides, tile in output px) -> sha256 of the float32 output.
CASES: dict[tuple[str, tuple[str, ...], int], str] = {
    ("sr3", ("--sampler", "ddpm", "--steps", "6"), 0): "623b42b59d5f9062",
    ("sr3", ("--sampler", "ddpm", "--steps", "6"), 24): "12ef81cc5592dca6",
    ("sr3", ("--sampler", "ddim", "--steps", "5", "--eta", "0.5", "--spacing", "uniform"), 0): "72810e76b8cf296b",  # the former default spacing
    ("sr3-dream", ("--sampler", "dpm-solver", "--order", "1", "--steps", "5"), 0): "22ec3d53c29077e1",
    ("resshift", (), 0): "a17ea44836226e98",
    ("dossr", (), 0): "0c892a5150068742",
    ("dossr", ("--order", "2", "--steps", "3"), 24): "44781a82421f0d23",
    ("ccsr", (), 0): "345a842c18ccaffc",
}


def _lr() -> np.ndarray:
    return np.random.default_rng(7).random((10, 12, 3)).astype(np.float32)


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()[:16]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(("method", "options", "tile"), list(CASES))
def test_builtin_upscale_output_is_pinned(capsys, tmp_path: Path, method: str, options: tuple[str, ...], tile: int) -> None:
    """The CLI writes a 16-bit PNG of the pinned float output (quantised), and the hash of the library output matches."""
    write_image(tmp_path / "in.png", (_lr() * 65535).round().astype(np.uint16))
    code, _, err = run(capsys, "upscale", tmp_path / "in.png", tmp_path / "out.png", "--method", method, *options,
                       "--tile", str(tile), "--tile-overlap", "8", "--seed", "5", "--quiet", "--device", "cpu")
    assert code == 0, err
    image = read_image(tmp_path / "out.png")
    assert image.bit_depth == 16
    assert _digest(image.rgb) == CASES[(method, options, tile)]


# method -> sha256 of ``model.super_resolve`` (recipe sampler, float32 output) on one 8x8 LR.
MODEL_CASES: dict[str, str] = {"resshift": "bb2f4a3e14b638d6", "dossr": "ad3988a7f5e1c1d5", "ccsr": "66992eb07880017a"}


@pytest.mark.parametrize("method", list(MODEL_CASES))
def test_builtin_model_super_resolve_is_pinned(method: str) -> None:
    from srkit.model import load_model
    from srkit.recipes import load_recipe

    model = load_model(None, recipe=load_recipe(method))
    lr = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(model.start_shape(lr.shape), generator=torch.Generator().manual_seed(1))
    sr, nfe = model.super_resolve(lr, noise=noise, generator=torch.Generator().manual_seed(2))
    assert nfe >= 1
    assert _digest(sr.numpy()) == MODEL_CASES[method]
