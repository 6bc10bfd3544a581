"""`srkit degrade` through the real CLI: pairs, manifest, JSON summary, resume, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from srkit.io.images import read_image, write_image


def run_srkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "srkit", *args], capture_output=True, text=True, timeout=300)


def make_hr(folder: Path) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for name, (h, w) in {"a.png": (70, 90), "sub/b.png": (64, 67)}.items():
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([np.sin(xx / 7.0), np.cos(yy / 5.0), (xx + yy) / (h + w)], -1) * 0.4 + 0.5
        img = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(folder / name, img)


def test_degrade_writes_pairs_manifest_and_resumes(tmp_path: Path) -> None:
    make_hr(tmp_path / "hr")
    out = tmp_path / "pairs"
    first = run_srkit("degrade", str(tmp_path / "hr"), str(out), "--crop", "32", "--scale", "4", "--json", "--seed", "3")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["pairs"] == 2 and summary["written"] == 2
    lr = read_image(out / "lr" / "a.png")
    assert lr.rgb.shape == (8, 8, 3)
    assert read_image(out / "hr" / "sub" / "b.png").rgb.shape == (32, 32, 3)
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 2
    again = json.loads(run_srkit("degrade", str(tmp_path / "hr"), str(out), "--crop", "32", "--json", "--seed", "3").stdout)
    assert again["written"] == 0 and again["skipped_existing"] == 2


def test_degrade_missing_input_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_srkit("degrade", str(tmp_path / "missing"), str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("srkit: error:")
    assert not (tmp_path / "out").exists()


def test_degrade_bad_scale_is_one_line_exit_2(tmp_path: Path) -> None:
    make_hr(tmp_path / "hr")
    result = run_srkit("degrade", str(tmp_path / "hr"), str(tmp_path / "out"), "--scale", "5")
    assert result.returncode == 2 and "--scale" in result.stderr
    assert result.stderr.strip().count("\n") == 0
