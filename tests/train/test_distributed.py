"""Two processes under torchrun with the gloo backend: sharded data, one set of outputs from rank 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.test_cli_train import TINY_RECIPE


@pytest.mark.slow
def test_torchrun_two_processes_on_gloo_train_and_rank0_alone_writes(photos: Path, val_photos: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_RECIPE)
    out = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "srkit",
               "train", "--recipe", str(recipe), "--data", str(photos), "--val", str(val_photos), "--out", str(out),
               "--steps", "3", "--batch-size", "2", "--crop", "32", "--log-every", "1", "--ckpt-every", "2",
               "--val-every", "2", "--device", "cpu", "--json"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # one JSON document: rank 1 prints nothing
    assert summary["world_size"] == 2 and summary["step"] == 3
    assert result.stderr.count("training tiny-sr3") == 1  # messages come from rank 0 only
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]  # one line per step, not one per process
    assert [r["step"] for r in records if "val_psnr" in r] == [2, 3]
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == ["step_0000002.safetensors", "step_0000002.state.safetensors",
                     "step_0000003.safetensors", "step_0000003.state.safetensors"]
    from srkit.model import load_model

    assert load_model(out / "final.safetensors").step == 3
