"""Declared image sizes read from headers (every format) and the pixel limit refusing huge ones."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from srkit.errors import InputError
from srkit.io import limits
from srkit.io.containers import declared_size
from srkit.io.formats import format_for_path
from srkit.io.images import check_image_file, read_image
from tests.reliability.conftest import png_declaring


@pytest.mark.parametrize("name", ["a.png", "a.jpg", "a.webp", "a.tif", "a.bmp", "lossy.webp", "grey.png", "a16.tif"])
def test_declared_size_matches_the_decoded_size_in_every_format(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(1)
    shape = (37, 53) if name.startswith("grey") else (37, 53, 3)
    pixels = (rng.random(shape) * (65535 if "16" in name else 255)).astype(np.uint16 if "16" in name else np.uint8)
    params = [cv2.IMWRITE_WEBP_QUALITY, 80] if name.startswith("lossy") else []
    path = tmp_path / name
    assert cv2.imwrite(str(path), pixels, params)
    assert declared_size(path.read_bytes(), format_for_path(path)) == (53, 37)


def test_a_png_declaring_ten_gigapixels_is_refused_naming_file_and_size(tmp_path: Path) -> None:
    path = png_declaring(tmp_path / "bomb.png", 100000, 100000)
    with pytest.raises(InputError) as info:
        check_image_file(path)
    message = str(info.value)
    assert "bomb.png" in message and "100000x100000" in message and "SRKIT_MAX_PIXELS" in message
    with pytest.raises(InputError):
        read_image(path)


def test_the_limit_follows_srkit_max_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.png"
    assert cv2.imwrite(str(path), np.zeros((20, 30, 3), np.uint8))
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "599")
    with pytest.raises(InputError, match="30x20 pixels"):
        read_image(path)
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "600")
    assert read_image(path).width == 30
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "0")  # no srkit limit
    assert limits.max_pixels() == 0
    monkeypatch.delenv("SRKIT_MAX_PIXELS")
    assert limits.max_pixels() == limits.DEFAULT_MAX_PIXELS


def test_a_header_declaring_a_zero_side_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="declares 0x5 pixels"):
        check_image_file(png_declaring(tmp_path / "zero.png", 0, 5))


def test_a_file_too_large_for_any_image_within_the_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    assert cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
    with path.open("ab") as handle:  # a sparse tail: large on paper, nothing on disk
        handle.truncate(path.stat().st_size + 2_000_000)
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "100000")  # allows 0.8 MB + 64 MB files
    assert read_image(path).width == 4
    monkeypatch.setenv("SRKIT_MAX_PIXELS", "100")
    monkeypatch.setattr(limits, "max_file_bytes", lambda: 1_000_000.0)
    import srkit.io.images as images

    monkeypatch.setattr(images, "max_file_bytes", lambda: 1_000_000.0)
    with pytest.raises(InputError, match="big.png: the file is 0.002 GB, more than an image within the pixel limit"):
        read_image(path)
