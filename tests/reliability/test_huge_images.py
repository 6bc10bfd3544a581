"""Item 1 of issue 21: an image declaring a huge size is unreadable, named with its size, before any work."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.cli_helpers import assert_one_line_error, run
from tests.reliability.conftest import png_declaring


def test_upscale_refuses_a_folder_holding_a_huge_png_before_writing(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    png_declaring(images / "huge.png", 100000, 100000)
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights)
    assert_one_line_error(code, err, 2, "huge.png: it declares 100000x100000 pixels")
    assert not (tmp_path / "out").exists()


def test_skip_unreadable_leaves_the_huge_png_out_and_reports_it(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    png_declaring(images / "huge.png", 100000, 100000)
    code, out, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--skip-unreadable", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["written"], report["unreadable"]) == (2, 1)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["a.png", "b.png"]


def test_train_refuses_a_huge_png_before_creating_the_run_folder(capsys, tmp_path: Path, images: Path) -> None:
    png_declaring(images / "huge.png", 100000, 100000)
    code, _, err = run(capsys, "train", "--recipe", "builtin/sr3", "--data", images, "--out", tmp_path / "run", "--device", "cpu")
    assert_one_line_error(code, err, 2, "huge.png: it declares 100000x100000 pixels")
    assert not (tmp_path / "run").exists()


def test_max_pixels_before_the_command_sets_the_limit(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    try:
        code, _, err = run(capsys, "--max-pixels", 50, "upscale", images, tmp_path / "out", "--weights", weights)
        assert_one_line_error(code, err, 2, "a.png: it declares 10x8 pixels (8e-05 MP), over srkit's limit of 5e-05 MP")
        code, _, err = run(capsys, "--max-pixels", 80, "upscale", images, tmp_path / "out", "--weights", weights, "-q")
        assert code == 0, err
    finally:
        from srkit.io.limits import set_max_pixels

        set_max_pixels(None)
