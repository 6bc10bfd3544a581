"""run_stability end to end: G-STD / L-STD (CCSR eqs. 4-5), per-image files, fixed start noise."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from srkit.bench import open_dataset, run_stability
from srkit.bench.paths import image_seed
from srkit.bench.upscalers import ModelUpscaler
from srkit.errors import UsageError
from srkit.io.images import read_image

from .conftest import tiny_model, tiny_recipe

DDIM = {"kind": "ddim", "steps": 2, "eta": 0.0}
DDPM = {"kind": "ddpm", "steps": 2}


def test_deterministic_sampler_from_a_fixed_start_has_zero_l_std_and_g_std(hr_dir: Path) -> None:
    result = run_stability(tiny_model(tiny_recipe(DDIM)), open_dataset(hr_dir, limit=2), runs=3, metrics=["psnr", "ssim"],
                           fixed_start=True)
    assert result.l_std == 0.0
    assert result.summary["psnr"]["g_std"] == 0.0 and result.summary["ssim"]["g_std"] == 0.0
    assert all(image.l_std == 0.0 for image in result.per_image)


def test_stochastic_sampler_from_a_fixed_start_has_positive_l_std(hr_dir: Path) -> None:
    result = run_stability(tiny_model(tiny_recipe(DDPM)), open_dataset(hr_dir, limit=1), runs=2, metrics=["psnr"],
                           fixed_start=True)
    assert result.l_std > 1e-4 and result.summary["psnr"]["g_std"] > 0.0


def test_l_std_and_g_std_match_a_direct_computation_over_the_runs(hr_dir: Path) -> None:
    model = tiny_model(tiny_recipe(DDIM))
    dataset = open_dataset(hr_dir, limit=2)
    result = run_stability(model, dataset, runs=2, metrics=["psnr"], seed=5)
    upscaler = ModelUpscaler(model, model.recipe.sampler)
    per_image_l, per_image_g = [], []
    for index in range(2):
        pair = dataset.pair(index, scale=4, degradation="bicubic")
        a, b = (upscaler(pair.lr, seed=image_seed(5, run, pair.name))[0].double() for run in (0, 1))
        per_image_l.append(float(((a - b).abs() / 2).mean()))  # population std of two values = |a - b| / 2
        psnrs = [run["psnr"] for run in result.per_image[index].runs]
        per_image_g.append(abs(psnrs[0] - psnrs[1]) / 2)
    assert result.l_std > 0 and result.l_std == pytest.approx(np.mean(per_image_l), rel=1e-6)
    assert result.summary["psnr"]["g_std"] == pytest.approx(np.mean(per_image_g), rel=1e-9)
    assert result.per_image[0].seeds == [image_seed(5, 0, "a.png"), image_seed(5, 1, "a.png")]


def test_stability_files_parse_back_and_unavailable_metrics_do_not_fail_the_run(
    hr_dir: Path, tmp_path: Path, empty_caches: Path
) -> None:
    out = tmp_path / "out"
    result = run_stability(tiny_model(tiny_recipe(DDPM)), open_dataset(hr_dir), runs=2, metrics=["ssim", "lpips"],
                           out_dir=out, save_best_worst=True)
    summary = list(csv.DictReader((out / "stability.csv").open()))
    assert [row["image"] for row in summary] == ["a.png", "b.png", "sub/c.png", "all"]
    assert float(summary[-1]["l_std"]) == pytest.approx(result.l_std, rel=1e-12)
    assert float(summary[-1]["psnr_std"]) == pytest.approx(result.summary["psnr"]["g_std"], rel=1e-12)
    assert summary[0]["lpips_mean"] == "unavailable" and float(summary[0]["ssim_mean"]) > -1
    runs = list(csv.DictReader((out / "per_image" / "sub" / "c.csv").open()))
    assert [int(row["run"]) for row in runs] == [0, 1] and float(runs[1]["psnr"]) > 0
    data = json.loads((out / "stability.json").read_text())
    assert data["metrics"] == ["psnr", "ssim", "lpips"] and data["summary"]["lpips"].startswith("unavailable")
    assert data["runs"] == 2 and len(data["per_image"]) == 3
    picture = read_image(out / "best_worst" / "a.png")
    assert picture.height == 24 and picture.width == 2 * 28 + 4


def test_stability_needs_two_runs_and_an_out_folder_for_pictures(hr_dir: Path) -> None:
    dataset = open_dataset(hr_dir, limit=1)
    with pytest.raises(UsageError, match=">= 2"):
        run_stability(tiny_model(), dataset, runs=1, metrics=["psnr"])
    with pytest.raises(UsageError, match="needs an output folder"):
        run_stability(tiny_model(), dataset, runs=2, metrics=["psnr"], save_best_worst=True)
