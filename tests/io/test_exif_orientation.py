"""EXIF orientation: parsed from JPEG/PNG/WebP, applied once; TIFF left to OpenCV."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageOps

from srkit.io.images import read_image
from srkit.io.orientation import exif_orientation

# A 6x4 image with a distinct value per pixel: any wrong flip/rotation shows.
STORED = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3) * 2


def _save_with_orientation(path: Path, orientation: int, **options: object) -> None:
    image = PILImage.fromarray(STORED)
    exif = image.getexif()
    exif[0x0112] = orientation
    image.save(path, exif=exif, **options)


def _upright_by_pillow(path: Path) -> np.ndarray:
    with PILImage.open(path) as opened:
        return np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_png_exif_orientation_matches_pillow_exactly(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"o{orientation}.png"
    _save_with_orientation(path, orientation)
    got = np.rint(read_image(path).rgb * 255).astype(np.uint8)
    np.testing.assert_array_equal(got, _upright_by_pillow(path))


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_jpeg_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"o{orientation}.jpg"
    _save_with_orientation(path, orientation, quality=100)
    got = read_image(path).rgb * 255
    expected = _upright_by_pillow(path).astype(np.float32)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 2  # two libjpeg builds may round differently


def test_webp_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "o8.webp"
    _save_with_orientation(path, 8, lossless=True)
    got = np.rint(read_image(path).rgb * 255).astype(np.uint8)
    np.testing.assert_array_equal(got, np.rot90(STORED, 1))


def test_tiff_orientation_is_applied_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "o6.tiff"
    _save_with_orientation(path, 6)
    got = np.rint(read_image(path).rgb * 255).astype(np.uint8)
    np.testing.assert_array_equal(got, np.rot90(STORED, -1))


def _exif_block(order: str, orientation: int, kind: int = 3) -> bytes:
    """A minimal TIFF-structured EXIF block: header, IFD0 with one other tag and Orientation."""
    mark = b"II" if order == "<" else b"MM"
    header = mark + struct.pack(order + "HI", 42, 8)
    entries = struct.pack(order + "H", 2)
    entries += struct.pack(order + "HHII", 0x010F, 2, 4, 0)  # Make, irrelevant
    entries += struct.pack(order + "HHIH2x", 0x0112, kind, 1, orientation)
    return header + entries + struct.pack(order + "I", 0)


@pytest.mark.parametrize("order", ["<", ">"])
def test_exif_orientation_parses_both_byte_orders(order: str) -> None:
    assert exif_orientation(_exif_block(order, 6)) == 6
    assert exif_orientation(_exif_block(order, 8)) == 8


@pytest.mark.parametrize(
    "block",
    [None, b"", b"XX*\x00\x08\x00\x00\x00", _exif_block("<", 9), _exif_block("<", 6, kind=4), _exif_block(">", 6)[:20]],
)
def test_exif_orientation_defaults_to_upright_on_bad_data(block: bytes | None) -> None:
    assert exif_orientation(block) == 1
