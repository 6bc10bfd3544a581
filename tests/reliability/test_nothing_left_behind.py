"""Item 4 of issue 21: failures leave no partial outputs, stale temporaries are cleaned, read-only and full disks
are said up front and in one line."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from srkit.io import atomic, writable
from srkit.io.images import write_image
from srkit.io.temps import clean_stale_temporaries, is_srkit_temporary
from tests.cli.cli_helpers import assert_one_line_error, run


def test_degrade_with_every_image_smaller_than_the_crop_is_an_error_and_leaves_no_out_dir(capsys, tmp_path: Path, images: Path) -> None:
    code, _, err = run(capsys, "degrade", images, tmp_path / "pairs", "--crop", "64", "--preset", "bicubic")
    assert_one_line_error(code, err, 2, "every HR image is smaller than the crop of 64 px")
    assert not (tmp_path / "pairs").exists()


def test_failed_degrade_leaves_no_empty_out_dir(capsys, tmp_path: Path, images: Path) -> None:
    (images / "z.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    code, _, err = run(capsys, "degrade", images, tmp_path / "pairs", "--preset", "bicubic")
    assert_one_line_error(code, err, 2, "z.png")
    assert not (tmp_path / "pairs").exists()


def test_stability_checks_every_image_before_the_first_run(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    write_image(images / "zz_tiny.png", np.zeros((1, 1, 3), np.uint8))  # sorted last: would fail after the others ran
    code, _, err = run(capsys, "stability", "--data", images, "--weights", weights, "--runs", "2", "--metrics", "psnr",
                       "--preset", "bicubic", "--out", tmp_path / "stab", "--device", "cpu")
    assert_one_line_error(code, err, 2, "zz_tiny.png: image of 1x1 is smaller than the scale 4")
    assert not (tmp_path / "stab").exists()


def test_a_failed_train_start_leaves_no_run_folder(capsys, tmp_path: Path, images: Path) -> None:
    code, _, err = run(capsys, "train", "--recipe", "builtin/sr3", "--data", images, "--out", tmp_path / "run",
                       "--init", tmp_path / "missing.safetensors", "--device", "cpu")
    assert_one_line_error(code, err, 2, "missing.safetensors")
    assert not (tmp_path / "run").exists()


def test_an_existing_folder_is_never_removed_after_a_failure(capsys, tmp_path: Path, images: Path) -> None:
    (tmp_path / "run").mkdir()
    code, _, err = run(capsys, "train", "--recipe", "builtin/sr3", "--data", images, "--out", tmp_path / "run",
                       "--init", tmp_path / "missing.safetensors", "--device", "cpu")
    assert code == 2 and (tmp_path / "run").is_dir() and list((tmp_path / "run").iterdir()) == []


KILLED_WRITER = """
import os, sys
from srkit.io.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"x" * 4096)
    os.kill(os.getpid(), 9)
"""


def test_temporaries_of_a_run_killed_with_sigkill_are_removed_by_the_next_run(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for name in ("a.png", "sub/c.png"):
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(out / name)], check=False, env=env, timeout=60)
        assert killed.returncode == -9
    left = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(left) == 2 and all(is_srkit_temporary(p.name) for p in left)
    (out / "keep.tmp").write_text("not srkit's")  # a user's file that merely looks temporary
    code, _, err = run(capsys, "upscale", images, out, "--weights", weights, "-q")
    assert code == 0, err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.png", "b.png", "keep.tmp", "report.json"]


def test_only_srkit_temporary_names_are_cleaned(tmp_path: Path) -> None:
    names = [".a.png.0123abcd.tmp", ".step_0000010.state.safetensors.deadbeef.tmp", "a.png.0123abcd.tmp", ".a.png.xyz.tmp", ".a.tmp", "b.png"]
    for name in names:
        (tmp_path / name).write_text("x")
    removed = clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(writable.tempfile, "mkstemp", refuse)


@pytest.mark.parametrize("command", ["upscale", "bench", "stability", "degrade", "find-bc"])
def test_a_read_only_output_is_refused_before_any_work(capsys, tmp_path: Path, images: Path, weights: Path,
                                                       monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    _read_only(monkeypatch)
    out = tmp_path / "ro"
    out.mkdir()
    args = {
        "upscale": ["upscale", images, out, "--weights", weights],
        "bench": ["bench", "--data", images, "--methods", "tiny", "--weights", f"tiny={weights}", "--out", out],
        "stability": ["stability", "--data", images, "--weights", weights, "--out", out],
        "degrade": ["degrade", images, out],
        "find-bc": ["find-bc", "--hr-dir", images, "--weights", weights, "--out", out / "bc.safetensors"],
    }[command]
    code, _, err = run(capsys, *args, "--device", "cpu")
    assert_one_line_error(code, err, 2, f"cannot write to {out}: read-only file system")
    assert list(out.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_on_disk_is_refused(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir(mode=0o555)
    code, _, err = run(capsys, "upscale", images, out, "--weights", weights)
    assert_one_line_error(code, err, 2, "permission denied")


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)


def test_a_full_disk_during_upscale_is_one_line_naming_device_and_size(capsys, tmp_path: Path, images: Path, weights: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _disk_full(monkeypatch)
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights)
    assert_one_line_error(code, err, 1, "no space left on /")
    assert "need about" in err and "MB" in err and "a.png" in err
    assert not (tmp_path / "out").exists()  # nothing written: the new folder went again


def test_a_full_disk_while_saving_a_checkpoint_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from srkit.io import checkpoints

    def full(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: \"No space left on device\" })")

    monkeypatch.setattr(checkpoints, "save_file", full)
    with pytest.raises(writable.DiskFullError, match=r"no space left on .* \(need about 0.004 MB"):
        checkpoints.save_checkpoint(tmp_path / "c.safetensors", {"w": torch.zeros(1000)}, {"kind": "model"})
    assert list(tmp_path.iterdir()) == []


def test_train_removes_a_killed_runs_temporaries_from_its_run_folder(capsys, tmp_path: Path, images: Path) -> None:
    stale = tmp_path / "run" / "checkpoints" / ".step_0000010.state.safetensors.0a1b2c3d.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")  # what `kill -9` during a checkpoint save leaves
    code, _, err = run(capsys, "train", "--recipe", "builtin/sr3", "--data", images, "--out", tmp_path / "run", "--resume", "--device", "cpu")
    assert_one_line_error(code, err, 2, "holds no checkpoint")
    assert not stale.exists() and (tmp_path / "run" / "checkpoints").is_dir()  # an existing run folder is kept


def test_a_full_disk_outside_srkit_writers_is_still_one_line(capsys, tmp_path: Path, images: Path, weights: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from srkit.infer import upscale

    def full(path: Path, payload: dict) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(upscale, "_write_json", full)
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "-q")
    assert_one_line_error(code, err, 1, "no space left on /")
    assert "report.json" in err
