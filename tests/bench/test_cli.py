"""``srkit bench`` and ``srkit stability`` through the CLI (in-process): JSON on stdout, one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.infer.tiny_model import save_tiny_checkpoint

from srkit.cli.app import main

from .conftest import tiny_model, tiny_recipe


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    return save_tiny_checkpoint(tmp_path / "tiny.safetensors", tiny_model(tiny_recipe({"kind": "ddpm", "steps": 2})))


def test_bench_cli_takes_unquoted_method_lists_and_prints_only_json(
    capsys: pytest.CaptureFixture[str], hr_dir: Path, checkpoint: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(capsys, "bench", "--data", hr_dir, "--limit", "1", "--methods", "sr3:1:ddim", "sr3:2",
                             "--weights", f"sr3={checkpoint}", "--metrics", "psnr,ssim", "--device", "cpu", "--no-realesrgan",
                             "--out", tmp_path / "out", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [row["label"] for row in data["rows"]] == ["bicubic", "sr3:1:ddim", "sr3:2"]
    assert [row["nfe"] for row in data["rows"]] == [0, 1, 2]
    assert data["rows"][2]["sampler"] == "ddpm"
    rows = list(csv.DictReader((tmp_path / "out" / "bench.csv").open()))
    assert [row["model_id"] for row in rows][1] == data["rows"][1]["model_id"] != "in-memory"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--methods", "sr3:x"], "STEPS"),
        (["--methods", "resshift-dream:5"], "--weights resshift-dream=FILE"),  # never a built-in model
        (["--methods", "sr3", "--weights", "sr3"], "METHOD=FILE"),
        (["--methods", "sr3", "--weights", "dossr=a.safetensors"], "not a method of --methods"),
        (["--methods", "sr3", "--metrics", "psnr,lpipz"], "unknown metric"),
        (["--methods", "sr3", "--preset", "bicubic", "--paired-lr", "lr"], "pass one of them"),
        (["--methods", "sr3", "--color-fix", "purple"], "--color-fix must be"),
    ],
)
def test_bench_cli_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], hr_dir: Path, args: list, fragment: str) -> None:
    code, out, err = run_cli(capsys, "bench", "--data", hr_dir, "--device", "cpu", *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == ""
    assert len(lines) == 1 and lines[0].startswith("srkit: error:") and fragment in lines[0], err


def test_stability_cli_with_weights_alone_reports_zero_l_std_for_ddim_from_a_fixed_start(
    capsys: pytest.CaptureFixture[str], hr_dir: Path, checkpoint: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(capsys, "stability", "--data", hr_dir, "--limit", "1", "--weights", checkpoint,
                             "--runs", "2", "--sampler", "ddim", "--eta", "0", "--steps", "1", "--fixed-start",
                             "--metrics", "psnr", "--device", "cpu", "--out", tmp_path / "st", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["method"] == "sr3" and data["sampler"]["kind"] == "ddim" and data["l_std"] == 0.0
    assert data["summary"]["psnr"]["g_std"] == 0.0
    assert (tmp_path / "st" / "per_image" / "a.csv").is_file()


def test_stability_cli_without_json_renders_mean_g_std_and_l_std(
    capsys: pytest.CaptureFixture[str], hr_dir: Path, checkpoint: Path
) -> None:
    code, out, err = run_cli(capsys, "stability", "--data", hr_dir, "--limit", "1", "--weights", checkpoint,
                             "--runs", "2", "--metrics", "psnr", "--device", "cpu")
    assert code == 0, err
    assert "G-STD" in out and "L-STD" in out and "psnr" in out and "seeds 0..1" in out
