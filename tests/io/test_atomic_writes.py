"""Atomic output: an interrupted write leaves no file (or the old one) under the final name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import srkit.io.images as images
from srkit.errors import SrkitError
from srkit.io.atomic import atomic_path
from srkit.io.discovery import find_images
from srkit.io.images import read_image, write_image

PIXELS = np.full((4, 5, 3), 0.5, np.float32)


def test_encoder_failure_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_encoder(*args: object, **kwargs: object) -> None:
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(images.cv2, "imencode", broken_encoder)
    with pytest.raises(RuntimeError):
        write_image(tmp_path / "out.png", PIXELS)
    assert list(tmp_path.iterdir()) == []


def test_crash_mid_write_keeps_previous_output_intact(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old complete file")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of the ne")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_crash_mid_write_leaves_nothing_when_no_previous_output(tmp_path: Path) -> None:
    with pytest.raises(OSError), atomic_path(tmp_path / "sub" / "out.bin") as tmp:
        tmp.write_bytes(b"partial")
        raise OSError("disk full")
    assert list((tmp_path / "sub").iterdir()) == []


def test_failed_rename_reports_one_line_and_keeps_old_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = write_image(tmp_path / "out.png", PIXELS)
    before = target.read_bytes()

    def failing_replace(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(SrkitError, match=r"^cannot write .*out\.png: Permission denied$"):
        write_image(target, np.zeros((4, 5, 3), np.float32))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_successful_write_replaces_and_creates_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.png"
    write_image(target, np.zeros((4, 5, 3), np.float32))
    write_image(target, PIXELS)
    np.testing.assert_allclose(read_image(target).rgb, np.rint(PIXELS * 255) / 255)
    assert [p.name for p in target.parent.iterdir()] == ["out.png"]


def test_atomic_file_gets_normal_permissions(tmp_path: Path) -> None:
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    with atomic_path(tmp_path / "atomic.bin") as tmp:
        tmp.write_bytes(b"x")
    assert (tmp_path / "atomic.bin").stat().st_mode == plain.stat().st_mode


def test_temporary_file_is_hidden_from_discovery(tmp_path: Path) -> None:
    write_image(tmp_path / "done.png", PIXELS)
    with atomic_path(tmp_path / "pending.png") as tmp:
        tmp.write_bytes(b"not yet")
        assert tmp.name.startswith(".") and tmp.parent == tmp_path
        assert [item.relative.name for item in find_images(tmp_path)] == ["done.png"]


def test_written_files_get_the_umask_permissions_even_if_the_writer_made_its_file_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "out.bin") as tmp:
            tmp.unlink()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)  # as safetensors' writer does
            os.close(fd)
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644
