"""The GPU check (``benchmarks/gpu.sh`` / ``gpu_check.py``) runs end to end in its tiny CPU mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu.sh")], check=True)


@pytest.mark.slow
def test_gpu_check_tiny_cpu_mode_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--tiny", "--device", "cpu", "--no-compile",
           "--out", str(out)]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, timeout=600)
    report = json.loads(out.read_text())
    sections = report["sections"]
    assert set(sections) == {"unet", "train", "degrade", "sd"}
    assert sections["unet"]["sr3"]["fp32"]["median_s"] > 0
    assert sections["sd"]["controlnet+unet"]["bf16"]["median_s"] > 0
    for recipe in ("sr3", "resshift", "dossr", "ccsr"):
        assert sections["train"][recipe]["fp32"]["steps_per_s"] > 0, sections["train"][recipe]
    assert sections["degrade"]["srkit (opencv JPEG)"]["pairs_per_s"] > 0
    assert sections["degrade"]["basicsr ops (USM, DiffJPEG)"]["pairs_per_s"] > 0
