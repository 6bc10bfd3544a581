"""Built-in models: every shipped checkpoint loads with its metadata and upscales; shipping a run works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.model import MODEL_KIND, load_model
from srkit.io.checkpoints import load_checkpoint
from srkit.weights.builtin import BC_SUFFIX, WEIGHTS_DIR, list_builtin_models
from srkit.weights.ship import ship
from tests.infer.tiny_model import save_tiny_checkpoint

SHIPPED = sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors") if not p.name.endswith(BC_SUFFIX))
BUDGET_BYTES = 30_000_000


def test_builtin_checkpoints_fit_the_size_budget() -> None:
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.safetensors"))
    assert total <= BUDGET_BYTES


def test_models_lists_exactly_the_shipped_checkpoints() -> None:
    assert [row["method"] for row in list_builtin_models()] == SHIPPED


@pytest.mark.parametrize("method", SHIPPED)
def test_builtin_checkpoint_metadata_and_one_tiny_upscale(method: str) -> None:
    tensors, meta = load_checkpoint(WEIGHTS_DIR / f"{method}.safetensors")
    assert meta.kind == MODEL_KIND and meta.recipe["name"] == method and meta.step > 0
    assert all(t.dtype == torch.float16 for t in tensors.values() if t.is_floating_point())
    assert (WEIGHTS_DIR / f"{method}.md").is_file()
    model = load_model(None, recipe=_recipe(method))
    assert model.model_id == meta.model_id
    lr = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    sr, nfe = model.super_resolve(lr, generator=torch.Generator().manual_seed(0))
    assert sr.shape == (1, 3, 32, 32) and nfe >= 1
    assert torch.isfinite(sr).all() and 0.0 <= float(sr.min()) and float(sr.max()) <= 1.0


def _recipe(method: str):
    from srkit.recipes import load_recipe

    return load_recipe(method)


def test_ship_writes_fp16_weights_that_load_and_a_model_card(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    save_tiny_checkpoint(run / "final.safetensors")
    (run / "log.jsonl").write_text(
        "\n".join(json.dumps(row) for row in [{"step": 10, "loss": 1.0, "it_s": 2.0}, {"step": 10, "val_psnr": 21.5, "val_ssim": 0.6}])
    )
    target = ship(run, "tiny", device_name="test CPU", out_dir=tmp_path)
    tensors, meta = load_checkpoint(target)
    assert all(t.dtype == torch.float16 for t in tensors.values())
    assert int(meta.extra["params"]) == sum(t.numel() for n, t in tensors.items() if n.startswith("net."))
    card = (tmp_path / "tiny.md").read_text()
    assert "21.50 dB" in card and "test CPU" in card and meta.model_id in card
    model = load_model(target)
    sr, _ = model.super_resolve(torch.rand(1, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    assert sr.shape == (1, 3, 32, 32)


def test_models_command_json_lists_the_shipped_models() -> None:
    result = subprocess.run([sys.executable, "-m", "srkit", "models", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["models"]
    assert [row["method"] for row in rows] == SHIPPED
    assert {row["licence"] for row in rows} == {"Apache-2.0"}


def test_models_command_names_the_licences_of_its_models_and_of_realesrgan() -> None:
    result = subprocess.run([sys.executable, "-m", "srkit", "models"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "licence of these models: Apache-2.0" in text and "BSD-3-Clause" in text


def test_models_rows_name_the_default_sampler_of_each_checkpoint() -> None:
    samplers = {row["method"]: row["sampler"] for row in list_builtin_models()}
    assert samplers["dossr"] == "dos-sde x5" and samplers["resshift"] == "resshift x15" and samplers["sr3"] == "ddim x20"


def test_models_rows_mark_the_stage_2_checkpoint_by_its_decoder_weights() -> None:
    stages = {row["method"]: row["stage"] for row in list_builtin_models()}
    assert stages == {method: 2 if method == "ccsr" else 1 for method in SHIPPED}


@pytest.mark.parametrize("method", [m for m in SHIPPED if (WEIGHTS_DIR / f"{m}{BC_SUFFIX}").is_file()])
def test_builtin_boundary_condition_fits_its_model_and_fixes_the_output(method: str) -> None:
    from srkit.infer.bc import check_bc_for_run, load_bc

    bc = load_bc(WEIGHTS_DIR / f"{method}{BC_SUFFIX}")
    model = load_model(None, recipe=_recipe(method))
    check_bc_for_run(bc, model, model.recipe.sampler)  # same model id, channels, a deterministic sampler
    assert (bc.sampler, bc.steps) == (model.recipe.sampler.kind, model.recipe.sampler.steps)
    higher_is_better = bc.metric in ("psnr", "ssim")
    assert (bc.score > bc.median_score) == higher_is_better  # the winner beats the typical candidate on its references
    lr = torch.rand(1, 3, bc.shape[1] // 4, bc.shape[2] // 4, generator=torch.Generator().manual_seed(0))
    first, nfe = model.super_resolve(lr, noise=bc.x_T[None])
    again, _ = model.super_resolve(lr, noise=bc.x_T[None], generator=torch.Generator().manual_seed(5))
    assert nfe == bc.steps and torch.equal(first, again)  # the BC alone determines the output
