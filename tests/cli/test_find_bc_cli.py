"""`srkit find-bc` through the real CLI: a search end to end, its BC used by upscale, and one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.cli.cli_helpers import assert_one_line_error, run

from srkit.io.images import read_image, write_image

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture()
def ref_dir(tmp_path: Path) -> Path:
    """Two paired references: 16x16 HR crops and their 4x4 LR."""
    rng = np.random.default_rng(0)
    for name in ("p", "q"):
        hr = (rng.random((16, 16, 3)) * 255).astype(np.uint8)
        write_image(tmp_path / "refs" / "hr" / f"{name}.png", hr)
        write_image(tmp_path / "refs" / "lr" / f"{name}.png", hr[::4, ::4])
    return tmp_path / "refs"


def search_args(weights: Path, ref_dir: Path, out: Path, *extra: object, metric: str = "mse") -> list[object]:
    return ["find-bc", "--weights", weights, "--ref-dir", ref_dir, "--ref", 2, "--candidates", 3, "--crop", 16,
            "--steps", 3, "--metric", metric, "--out", out, *extra]


def test_find_bc_writes_a_bc_that_upscale_reproduces(capsys, tmp_path: Path, weights: Path, ref_dir: Path) -> None:
    out = tmp_path / "bc.safetensors"
    code, stdout, err = run(capsys, *search_args(weights, ref_dir, out, "--json", "-q"))
    assert code == 0, err
    report = json.loads(stdout)
    assert 0 <= report["winner"] < 3 and report["nfe"] == 2 * 3 * 3 and report["metric"] == "mse"
    assert out.is_file()
    write_image(tmp_path / "in" / "x.png", (np.random.default_rng(1).random((6, 9, 3)) * 255).astype(np.uint8))
    for name, seed in (("a", 1), ("b", 2)):  # with a BC the seed does not matter
        code, _, err = run(capsys, "upscale", tmp_path / "in", tmp_path / name, "--weights", weights, "--bc", out, "-q", "--seed", seed)
        assert code == 0, err
    np.testing.assert_array_equal(read_image(tmp_path / "a" / "x.png").rgb, read_image(tmp_path / "b" / "x.png").rgb)


def test_racing_strategy_and_hr_dir_references(capsys, tmp_path: Path, weights: Path) -> None:
    rng = np.random.default_rng(2)
    write_image(tmp_path / "photos" / "a.png", (rng.random((40, 40, 3)) * 255).astype(np.uint8))
    out = tmp_path / "bc.safetensors"
    code, stdout, err = run(capsys, "find-bc", "--weights", weights, "--hr-dir", tmp_path / "photos", "--ref", 5, "--candidates", 4,
                            "--crop", 16, "--steps", 2, "--metric", "psnr", "--strategy", "both", "--out", out, "--json", "-q")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["racing"]["nfe"] <= report["exhaustive"]["nfe"] and isinstance(report["racing_found_exhaustive_winner"], bool)


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (["--sampler", "ddpm"], "find-bc needs a deterministic sampler"),
        (["--strategy", "greedy"], "--strategy must be exhaustive, racing or both"),
        (["--metric", "niqe"], "--metric must be one of lpips, dists, psnr, ssim, mse"),
        (["--crop", 18], "--crop 18 must be a multiple of 4"),
        (["--ref", 5], "has 2 matching hr/lr pairs, 5 were asked for"),
    ],
)
def test_bad_search_settings_are_one_line_errors(capsys, tmp_path: Path, weights: Path, ref_dir: Path, extra, fragment) -> None:
    out = tmp_path / "bc.safetensors"
    code, _, err = run(capsys, *search_args(weights, ref_dir, out), *extra)
    assert_one_line_error(code, err, 2, fragment)
    assert not out.exists()


def test_references_must_come_from_exactly_one_source(capsys, tmp_path: Path, weights: Path) -> None:
    code, _, err = run(capsys, "find-bc", "--weights", weights, "--out", tmp_path / "bc.safetensors")
    assert_one_line_error(code, err, 2, "pass exactly one reference source")


def test_missing_lpips_weights_are_named_not_replaced(capsys, tmp_path: Path, weights: Path, ref_dir: Path, monkeypatch) -> None:
    from srkit.metrics.perceptual import load_learned_metric

    from ..pretrained.packages import hide_weight_packages

    hide_weight_packages(monkeypatch)
    for var in ("TORCH_HOME", "HF_HOME", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.setenv(var, str(tmp_path / "empty-cache"))
    load_learned_metric.cache_clear()
    args = search_args(weights, ref_dir, tmp_path / "bc.safetensors", "--weights-dir", tmp_path / "no-weights", metric="lpips")
    code, _, err = run(capsys, *args)
    load_learned_metric.cache_clear()
    assert_one_line_error(code, err, 1, "alexnet")
    assert not (tmp_path / "bc.safetensors").exists()


@pytest.mark.slow
def test_torchrun_shards_candidates_and_finds_the_same_bc(tmp_path: Path, weights: Path, ref_dir: Path) -> None:
    import os
    import subprocess
    import sys

    from srkit.infer.bc import load_bc

    env = {**os.environ, "NO_COLOR": "1"}
    args = [str(a) for a in search_args(weights, ref_dir, tmp_path / "one.safetensors", "-q", "--device", "cpu", "--candidates", 5)]
    subprocess.run([sys.executable, "-m", "srkit", *args], check=True, env=env, timeout=300)
    args[args.index(str(tmp_path / "one.safetensors"))] = str(tmp_path / "two.safetensors")
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "srkit", *args],
                   check=True, env=env, timeout=300, capture_output=True)
    one, two = load_bc(tmp_path / "one.safetensors"), load_bc(tmp_path / "two.safetensors")
    assert torch.equal(one.x_T, two.x_T) and one.score == pytest.approx(two.score, rel=1e-5)
    assert not list(tmp_path.glob("*.progress*.jsonl"))  # a finished search leaves no progress files
