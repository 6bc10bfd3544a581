"""The model layer: stages written once (y for training and inference), released models and preprocessors plug in."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.errors import UsageError
from srkit.infer.pipeline import Tiling, super_resolve_image
from srkit.infer.run import UpscaleRun
from srkit.io.checkpoints import save_checkpoint
from srkit.io.images import write_image
from srkit.model import load_model, model_name
from srkit.model.condition import upsample_condition
from srkit.released.base import RELEASED_KIND
from srkit.train.tasks.diffusion import DiffusionTask
from tests.cli.cli_helpers import assert_one_line_error, run
from tests.infer.tiny_model import tiny_model, tiny_recipe
from tests.model.fake_released import FakePipeline, hide_realesrgan, install_fake_realesrgan

ROOT = Path(__file__).resolve().parents[2] / "srkit"


def _imports(folder: Path) -> set[str]:
    """Every module imported anywhere in ``folder`` (top level, functions, TYPE_CHECKING blocks)."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return names


def test_training_imports_nothing_from_inference() -> None:
    assert not [name for name in _imports(ROOT / "train") if name.startswith("srkit.infer")]
    assert not [name for name in _imports(ROOT / "model") if name.startswith(("srkit.infer", "srkit.train", "srkit.bench", "srkit.cli"))]


def test_training_and_inference_build_the_same_condition() -> None:
    recipe = tiny_recipe()
    task = DiffusionTask(recipe, torch.device("cpu"), seed=0)
    model = tiny_model(recipe)
    lr = torch.rand(2, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    _, y_train = task.state_pair(lr, torch.zeros(2, 3, 24, 20))
    assert torch.equal(y_train, model.condition(lr))
    assert torch.equal(y_train, upsample_condition(lr, 4) * 2.0 - 1.0)


def test_a_preprocessor_stage_replaces_the_bicubic_condition() -> None:
    model = dataclasses.replace(tiny_model(), preprocess=FakePipeline())
    lr = torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    expected = (upsample_condition(lr, 4) + 0.01).clamp(0, 1) * 2 - 1
    assert torch.equal(model.condition(lr), expected)
    assert model.stages == ["preprocess", "condition", "sample"]
    with pytest.raises(UsageError, match="preprocessor upscales x2"):
        dataclasses.replace(model, preprocess=FakePipeline(scale=2)).condition(lr)


def test_load_model_hands_a_released_checkpoint_to_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    seen = {}
    registry = types.ModuleType("srkit.released.registry")

    def load_released(tensors, metadata, *, device, precision):
        seen.update(keys=sorted(tensors), kind=metadata.kind, family=metadata.extra.get("family"), device=device, precision=precision)
        return FakePipeline(model_id=metadata.model_id)

    registry.load_released = load_released
    monkeypatch.setitem(sys.modules, "srkit.released.registry", registry)
    path = tmp_path / "released.safetensors"
    save_checkpoint(path, {"unet.w": torch.zeros(2)}, {"kind": RELEASED_KIND, "family": "resshift"})
    model = load_model(path, precision="bf16")
    assert isinstance(model, FakePipeline) and model.model_id
    assert seen == {"keys": ["unet.w"], "kind": RELEASED_KIND, "family": "resshift", "device": torch.device("cpu"), "precision": "bf16"}
    with pytest.raises(Exception, match="takes no srkit recipe"):
        load_model(path, recipe=tiny_recipe())


def test_tiled_inference_runs_a_released_pipeline_and_refuses_sampler_settings() -> None:
    fake = FakePipeline()
    rgb = np.random.default_rng(0).random((10, 12, 3)).astype(np.float32)
    whole = super_resolve_image(fake, rgb, seed=0)
    tiled = super_resolve_image(fake, rgb, seed=0, tiling=Tiling(tile=16, overlap=8))
    expected = (upsample_condition(torch.from_numpy(rgb).permute(2, 0, 1)[None], 4) + 0.01).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(whole.rgb, expected, atol=1e-6)
    assert tiled.tiles > 1 and np.abs(tiled.rgb - whole.rgb).max() < 0.05
    assert model_name(fake) == "realesrgan"
    with pytest.raises(UsageError, match="does not apply to the released model realesrgan"):
        UpscaleRun.build(fake, sampler=tiny_recipe().sampler)


def test_upscale_method_realesrgan_runs_the_released_model(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = install_fake_realesrgan(monkeypatch)
    write_image(tmp_path / "a.png", (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8))
    code, out, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "out", "--method", "realesrgan", "--json", "--quiet", "--device", "cpu")
    assert code == 0, err
    report = json.loads(out)
    assert report["method"] == "realesrgan" and report["sampler"] is None and report["images"][0]["nfe"] == 1
    assert calls == [(torch.device("cpu"), "fp32")]
    code, _, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "o2", "--method", "realesrgan", "--steps", "5")
    assert_one_line_error(code, err, 2, "--steps do not apply to the released model")


def test_realesrgan_unavailable_is_one_line(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hide_realesrgan(monkeypatch)
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    code, _, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "out", "--method", "realesrgan")
    assert_one_line_error(code, err, 2, "method 'realesrgan' is unavailable")


def test_bench_shows_a_realesrgan_baseline_beside_bicubic(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.infer.tiny_model import save_tiny_checkpoint

    install_fake_realesrgan(monkeypatch)
    weights = save_tiny_checkpoint(tmp_path / "tiny.safetensors")
    write_image(tmp_path / "hr" / "h.png", (np.random.default_rng(1).random((16, 16, 3)) * 255).astype(np.uint8))
    args = ("bench", "--data", tmp_path / "hr", "--methods", "optimal-bc:1", "--weights", f"optimal-bc={weights}",
            "--metrics", "psnr", "--device", "cpu", "--json", "--quiet")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [row["label"] for row in rows] == ["bicubic", "realesrgan", "optimal-bc:1"]
    assert rows[1]["nfe"] == 1 and rows[1]["sampler"] == "-" and rows[1]["metrics"]["psnr"] != rows[0]["metrics"]["psnr"]
    code, out, err = run(capsys, *args, "--no-realesrgan")
    assert [row["label"] for row in json.loads(out)["rows"]] == ["bicubic", "optimal-bc:1"]
    code, out, err = run(capsys, "bench", "--data", tmp_path / "hr", "--methods", "realesrgan", "--metrics", "psnr", "--device", "cpu", "--json", "--quiet")
    assert code == 0, err
    assert [row["label"] for row in json.loads(out)["rows"]] == ["bicubic", "realesrgan"]
