"""Item 6 of issue 21: srkit in pipelines: plain progress lines off a terminal, one line per message, a closed pipe
is success, and inputs or options that used to pass silently are reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from srkit.io import progress_lines
from srkit.io.images import write_image
from srkit.io.progress_lines import PlainProgress
from tests.cli.cli_helpers import assert_one_line_error, run

ROOT = Path(__file__).resolve().parents[2]


def test_upscale_off_a_terminal_prints_a_plain_line_per_image(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights)
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("srkit: images")]
    assert lines and lines[-1].startswith("srkit: images 2/2 (100%)"), err
    assert "\x1b[" not in err  # no terminal control codes in a log


def test_quiet_silences_the_progress_lines(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--quiet")
    assert code == 0 and err == ""


def test_progress_lines_are_rate_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(progress_lines.time, "monotonic", lambda: clock[0])
    lines: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    bar = PlainProgress(Sink())
    images = bar.add_task("images", total=3)
    steps = bar.add_task("  steps", total=1000)
    for step in range(1, 1001):  # 0.05 s per step: 50 s of sub-task progress
        clock[0] += 0.05
        bar.update(steps, completed=step)
    assert len(lines) in (4, 5) and all(line.startswith("srkit: images 0/3: steps") for line in lines)  # one every 10 s
    assert lines[0].startswith("srkit: images 0/3: steps 200/1000 (20%) 10.0s elapsed, about 40.0s left")
    for done in range(1, 4):
        clock[0] += 0.2  # faster than one a second: the last one is still printed, with 100%
        bar.update(images, completed=done)
    assert lines[-1].startswith("srkit: images 3/3 (100%)")


def test_one_message_is_one_line_whatever_the_width(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    long_name = "x" * 150 + ".png"
    (images / long_name).write_text("not an image")
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--skip-unreadable")
    assert code == 0, err
    (note,) = [line for line in err.splitlines() if "left out, unreadable" in line]
    assert long_name in note


def test_a_closed_stdout_pipe_is_success() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (["--help"], ["recipes"], ["upscale", "--help"]):
        process = subprocess.Popen([sys.executable, "-m", "srkit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # like `| head` that has already gone
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 0, (args, err)
        assert err == ""


def test_a_dangling_symlink_is_reported_not_dropped(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    (images / "gone.png").symlink_to(tmp_path / "nowhere.png")
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights)
    assert_one_line_error(code, err, 2, "gone.png: it is a dangling symbolic link")
    assert not (tmp_path / "out").exists()
    code, out, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--skip-unreadable", "--json", "-q")
    assert code == 0, err
    (entry,) = [e for e in json.loads(out)["images"] if e["status"] == "unreadable"]
    assert entry["input"].endswith("gone.png") and "dangling symbolic link" in entry["error"]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["unreadable"] == 1


@pytest.mark.parametrize(("tile", "overlap", "fragment"), [("64", "40", "more than half the tile (64 px)"),
                                                            ("auto", "100000", "more than half the tile (2048 px at most")])
def test_a_tile_overlap_too_large_is_an_error_not_a_silent_cap(capsys, tmp_path: Path, images: Path, weights: Path,
                                                               tile: str, overlap: str, fragment: str) -> None:
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--tile", tile, "--tile-overlap", overlap)
    assert_one_line_error(code, err, 2, fragment)
    assert not (tmp_path / "out").exists()


def test_alpha_written_to_jpeg_gets_a_note(capsys, tmp_path: Path, weights: Path) -> None:
    rng = np.random.default_rng(0)
    write_image(tmp_path / "in" / "logo.png", (rng.random((8, 8, 4)) * 255).astype(np.uint8))
    code, out, err = run(capsys, "upscale", tmp_path / "in", tmp_path / "out", "--weights", weights, "--ext", "jpg", "--json")
    assert code == 0, err
    assert "alpha channel dropped from 1 output(s) such as logo.jpg: JPEG cannot store it" in err
    report = json.loads(out)
    assert report["images"][0]["alpha_dropped"] is True and report["notes"]
    assert (tmp_path / "out" / "logo.jpg").is_file()


def test_sigterm_is_an_interrupt_that_releases_and_tidies(tmp_path: Path) -> None:
    import signal
    import time

    holder = """
import sys, time
from srkit.io.output_folder import command_scope, hold_output
with command_scope():
    hold_output(sys.argv[1])
    print("locked", flush=True)
    time.sleep(60)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    assert (tmp_path / "out" / ".srkit.lock").is_file()
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "out").exists()  # created by the run, held nothing: removed, lock file and all
