"""``degrade_folder``: outputs, manifest, replay, resume and worker independence on tiny images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from srkit.degrade.folder import degrade_folder
from srkit.degrade.manifest import MANIFEST_NAME, read_manifest
from srkit.errors import UsageError


@pytest.fixture()
def hr_dir(tmp_path: Path) -> Path:
    """Three smooth 8-bit images, one odd-sized and one in a subfolder."""
    root = tmp_path / "hr_in"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, (h, w) in {"a.png": (67, 53), "b.png": (96, 80), "sub/c.png": (72, 88)}.items():
        img = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 2.0)
        cv2.imwrite(str(root / name), (img * 255).round().astype(np.uint8))
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def _size(path: Path) -> tuple[int, int]:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[:2]


def test_whole_images_give_lr_of_hr_over_scale_with_manifest_and_lr_up(hr_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = degrade_folder(hr_dir, out, preset="realesrgan", scale=4, seed=3, write_lr_up=True)
    assert summary["written"] == summary["pairs"] == 3
    assert _size(out / "hr/a.png") == (64, 52) and _size(out / "lr/a.png") == (16, 13)
    assert _size(out / "lr_up/a.png") == (64, 52) and _size(out / "lr/sub/c.png") == (18, 22)
    records = read_manifest(out / MANIFEST_NAME)
    assert [r.pair for r in records] == ["a", "b", "sub/c"]
    assert records[0].crop == (0, 0, 64, 52) and records[0].params.scale == 4 and records[0].lr_up == "lr_up/a.png"


def test_same_seed_gives_identical_files_and_another_seed_does_not(hr_dir: Path, tmp_path: Path) -> None:
    kwargs = dict(preset="resshift", scale=2, crop=32, pairs_per_image=2)
    degrade_folder(hr_dir, tmp_path / "one", seed=1, **kwargs)
    degrade_folder(hr_dir, tmp_path / "two", seed=1, workers=2, **kwargs)
    degrade_folder(hr_dir, tmp_path / "three", seed=2, **kwargs)
    one = _files(tmp_path / "one")
    assert len(one) == 12 and one == _files(tmp_path / "two")
    assert (tmp_path / "one" / MANIFEST_NAME).read_bytes() == (tmp_path / "two" / MANIFEST_NAME).read_bytes()
    assert one != _files(tmp_path / "three")


def test_replay_regenerates_identical_pairs(hr_dir: Path, tmp_path: Path) -> None:
    degrade_folder(
        hr_dir, tmp_path / "orig", preset="stablesr", scale=4, crop=48, pairs_per_image=2, seed=4, write_lr_up=True
    )
    summary = degrade_folder(hr_dir, tmp_path / "again", replay=tmp_path / "orig" / MANIFEST_NAME, write_lr_up=True)
    assert summary["written"] == 6 and summary["preset"] == "stablesr"
    assert _files(tmp_path / "orig") == _files(tmp_path / "again")
    assert read_manifest(tmp_path / "orig" / MANIFEST_NAME) == read_manifest(tmp_path / "again" / MANIFEST_NAME)


def test_resume_skips_finished_pairs_and_redoes_missing_ones(hr_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    degrade_folder(hr_dir, out, preset="bicubic", scale=4, seed=0)
    before = _files(out)
    (out / "lr/b.png").unlink()
    with open(out / MANIFEST_NAME, "a") as handle:  # a line torn by a killed run
        handle.write('{"pair": "sub/c", "sour')
    summary = degrade_folder(hr_dir, out, preset="bicubic", scale=4, seed=0)
    assert (summary["written"], summary["skipped_existing"]) == (1, 2)
    assert _files(out) == before
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    assert [json.loads(line)["pair"] for line in lines] == ["a", "b", "sub/c"]


def test_resume_with_other_settings_is_refused_unless_overwrite(hr_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    degrade_folder(hr_dir, out, preset="bicubic", scale=4, seed=0)
    with pytest.raises(UsageError, match="other settings"):
        degrade_folder(hr_dir, out, preset="bicubic", scale=4, seed=1)
    summary = degrade_folder(hr_dir, out, preset="bicubic", scale=2, seed=1, overwrite=True)
    assert summary["written"] == 3 and _size(out / "lr/b.png") == (48, 40)


def test_images_smaller_than_the_crop_are_reported_not_written(hr_dir: Path, tmp_path: Path) -> None:
    summary = degrade_folder(hr_dir, tmp_path / "out", preset="bicubic", scale=4, crop=72, seed=0)
    assert summary["skipped_too_small"] == ["a.png"] and summary["written"] == 2


def test_crop_that_is_not_a_multiple_of_the_scale_is_a_usage_error(hr_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="multiple of --scale 3"):
        degrade_folder(hr_dir, tmp_path / "out", preset="bicubic", scale=3, crop=64)


def test_output_folder_inside_the_hr_folder_is_not_read_back(hr_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    first = degrade_folder(
        hr_dir, hr_dir / "pairs", preset="bicubic", scale=4, progress=lambda d, t: calls.append((d, t))
    )
    second = degrade_folder(hr_dir, hr_dir / "pairs", preset="bicubic", scale=4)
    assert first["pairs"] == second["pairs"] == 3 and second["skipped_existing"] == 3
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
