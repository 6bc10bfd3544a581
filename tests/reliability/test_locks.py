"""Item 5 of issue 21: one srkit run per output folder (refused naming the holder, or --wait), checked with two
processes; a holder killed with SIGKILL never leaves the folder locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srkit.io.locks import LOCK_NAME
from tests.cli.cli_helpers import assert_one_line_error, run

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from srkit.io.output_folder import claim_output
with claim_output(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(folder: Path, seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(seconds)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_run_into_a_locked_folder_is_refused_naming_the_holder(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    holder = _hold(tmp_path / "out", 60)
    try:
        code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights)
        assert_one_line_error(code, err, 1, f"is in use by srkit process {holder.pid}")
        assert "--wait" in err
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [LOCK_NAME]  # nothing written by the refused run
    finally:
        holder.kill()
        holder.wait()


def test_wait_queues_behind_the_holder_and_then_runs(tmp_path: Path, images: Path, weights: Path) -> None:
    holder = _hold(tmp_path / "out", 8)  # longer than the second run takes to start
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    second = subprocess.run([sys.executable, "-m", "srkit", "upscale", str(images), str(tmp_path / "out"), "--weights", str(weights),
                             "--wait", "--device", "cpu", "-q"], capture_output=True, text=True, env=env, timeout=300, check=False)
    holder.wait()
    assert second.returncode == 0, second.stderr
    assert f"waiting for srkit process {holder.pid}" in second.stderr
    assert time.monotonic() - started >= 7.5
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "report.json"]  # lock file gone too


def test_a_holder_killed_with_sigkill_leaves_no_lock(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    holder = _hold(tmp_path / "out", 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "-q")
    assert code == 0, err


@pytest.mark.parametrize("command", ["degrade", "bench", "stability", "train", "find-bc"])
def test_every_command_that_writes_a_folder_takes_the_lock(capsys, tmp_path: Path, images: Path, weights: Path, command: str) -> None:
    out = tmp_path / "out"
    holder = _hold(out, 60)
    args = {
        "degrade": ["degrade", images, out],
        "bench": ["bench", "--data", images, "--methods", "tiny", "--weights", f"tiny={weights}", "--out", out],
        "stability": ["stability", "--data", images, "--weights", weights, "--out", out],
        "train": ["train", "--recipe", "builtin/sr3", "--data", images, "--out", out],
    }.get(command)
    try:
        if command == "find-bc":  # a file output locks that file alone: another file of the folder is free
            code, _, err = run(capsys, "find-bc", "--hr-dir", images, "--weights", weights, "--out", out / "bc.safetensors",
                               "--ref", "1", "--candidates", "1", "--crop", "8", "--steps", "1", "--metric", "mse", "--device", "cpu", "-q")
            assert code == 0, err
            return
        code, _, err = run(capsys, *args, "--device", "cpu")
        assert_one_line_error(code, err, 1, f"is in use by srkit process {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
