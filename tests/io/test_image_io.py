"""Image read/write: every format x bit depth x layout it stores, and read errors."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from srkit.errors import InputError, SrkitError, UsageError
from srkit.io.containers import jpeg_is_complete
from srkit.io.images import Image, image_from_array, read_image, write_image

H, W = 9, 13  # odd sizes catch transposes and chroma rounding

# (extension, bit depth, layout) for every layout the format stores losslessly.
LOSSLESS_CASES = [
    *[(".png", d, m) for d in (8, 16) for m in ("grey", "rgb", "rgba", "grey_alpha")],
    *[(".tiff", d, m) for d in (8, 16) for m in ("grey", "rgb", "rgba")],
    *[(".tif", 16, "rgb")],
    *[(".bmp", 8, m) for m in ("grey", "rgb", "rgba")],
    *[(".webp", 8, m) for m in ("rgb", "rgba")],
]
CHANNELS = {"grey": 1, "grey_alpha": 2, "rgb": 3, "rgba": 4}


def _random_pixels(layout: str, bit_depth: int, seed: int = 0) -> np.ndarray:
    """RGB(A)-ordered integer pixels; grey_alpha is given as its two channels.

    Alpha is kept >= 1: lossless WebP (libwebp's default) drops the colour of
    fully transparent pixels, which is invisible and not a srkit concern.
    """
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    rng = np.random.default_rng(seed)
    shape = (H, W) if layout == "grey" else (H, W, CHANNELS[layout])
    pixels = rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True, dtype=dtype)
    if layout in ("rgba", "grey_alpha"):
        pixels[:, :, -1] = np.maximum(pixels[:, :, -1], 1)
    return pixels


def _grey_alpha_png(pixels: np.ndarray) -> bytes:
    """A PNG of colour type 4 (grey + alpha) built by hand (ISO/IEC 15948: IHDR, one IDAT, IEND)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    depth = pixels.dtype.itemsize * 8
    rows = pixels.astype(pixels.dtype.newbyteorder(">")).reshape(pixels.shape[0], -1).view(np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], depth, 4, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _write_reference(path: Path, pixels: np.ndarray, layout: str) -> None:
    """Write ``pixels`` without srkit: OpenCV, or a hand-built PNG for grey+alpha (OpenCV cannot)."""
    if layout == "grey_alpha":
        path.write_bytes(_grey_alpha_png(pixels))
        return
    bgr = pixels[:, :, [2, 1, 0, 3][: pixels.shape[2]]] if pixels.ndim == 3 else pixels
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if path.suffix == ".webp" else []
    assert cv2.imwrite(str(path), np.ascontiguousarray(bgr), params)


def _as_integers(image: Image, layout: str, bit_depth: int) -> np.ndarray:
    """Back from [0, 1] floats to the integer layout the file was written with."""
    top = 255 if bit_depth == 8 else 65535
    channels = [image.rgb[:, :, c] for c in ((0,) if layout.startswith("grey") else (0, 1, 2))]
    if image.alpha is not None:
        channels.append(image.alpha)
    stacked = np.stack(channels, axis=2) if len(channels) > 1 else channels[0]
    return np.rint(stacked * top).astype(np.uint8 if bit_depth == 8 else np.uint16)


@pytest.mark.parametrize(("ext", "bit_depth", "layout"), LOSSLESS_CASES)
def test_read_image_recovers_exact_samples_and_layout(tmp_path: Path, ext: str, bit_depth: int, layout: str) -> None:
    pixels = _random_pixels(layout, bit_depth)
    path = tmp_path / f"ref{ext}"
    _write_reference(path, pixels, layout)
    image = read_image(path)
    assert image.mode == layout
    assert image.bit_depth == bit_depth
    assert image.rgb.dtype == np.float32 and image.rgb.shape == (H, W, 3)
    assert image.source == path
    np.testing.assert_array_equal(_as_integers(image, layout, bit_depth), pixels)
    if layout.startswith("grey"):
        np.testing.assert_array_equal(image.rgb[:, :, 0], image.rgb[:, :, 2])


@pytest.mark.parametrize(("ext", "bit_depth", "layout"), LOSSLESS_CASES)
def test_write_then_read_is_lossless(tmp_path: Path, ext: str, bit_depth: int, layout: str) -> None:
    pixels = _random_pixels(layout, bit_depth, seed=1)
    if layout == "grey_alpha":  # colour given as three equal channels, as read_image produces it
        pixels = pixels[:, :, [0, 0, 0, 1]]
    image = image_from_array(pixels)
    assert image.mode == layout
    back = read_image(write_image(tmp_path / f"out{ext}", image))
    assert (back.mode, back.bit_depth) == (layout, bit_depth)
    np.testing.assert_array_equal(back.rgb, image.rgb)
    if image.alpha is not None:
        np.testing.assert_array_equal(back.alpha, image.alpha)


def test_grey_png_is_written_single_channel(tmp_path: Path) -> None:
    image = image_from_array(_random_pixels("grey", 16))
    path = write_image(tmp_path / "g.png", image)
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert decoded.ndim == 2 and decoded.dtype == np.uint16


def _smooth_rgb() -> np.ndarray:
    y, x = np.mgrid[0:32, 0:40].astype(np.float32)
    return np.stack([x / 39, y / 31, (x + y) / 69], axis=2)


@pytest.mark.parametrize("layout", ["rgb", "grey"])
def test_jpeg_round_trip_within_tolerance(tmp_path: Path, layout: str) -> None:
    rgb = _smooth_rgb()
    pixels = rgb if layout == "rgb" else rgb[:, :, 0]
    back = read_image(write_image(tmp_path / "x.jpg", pixels))
    assert (back.mode, back.bit_depth) == (layout, 8)
    expected = image_from_array(pixels).rgb
    assert np.abs(back.rgb - expected).mean() < 1.5 / 255
    assert np.abs(back.rgb - expected).max() < 8 / 255


def test_jpeg_quality_setting_changes_output(tmp_path: Path) -> None:
    noisy = np.random.default_rng(3).random((32, 32, 3), dtype=np.float32)
    small = write_image(tmp_path / "q30.jpeg", noisy, quality=30).stat().st_size
    large = write_image(tmp_path / "q95.jpeg", noisy).stat().st_size
    assert small < large


def test_sixteen_bit_to_eight_bit_format_rounds_to_nearest_level(tmp_path: Path) -> None:
    pixels = _random_pixels("rgb", 16, seed=2)
    back = read_image(write_image(tmp_path / "x.bmp", pixels))
    assert back.bit_depth == 8
    np.testing.assert_array_equal(np.rint(back.rgb * 255), np.rint(pixels / 65535 * 255))


def test_grey_to_webp_is_written_as_equal_rgb(tmp_path: Path) -> None:
    pixels = _random_pixels("grey", 8)
    back = read_image(write_image(tmp_path / "g.webp", pixels))
    np.testing.assert_array_equal(np.rint(back.rgb * 255), np.repeat(pixels[:, :, None], 3, axis=2))


def test_write_alpha_to_jpeg_is_refused_unless_mode_rgb(tmp_path: Path) -> None:
    image = image_from_array(_random_pixels("rgba", 8))
    with pytest.raises(UsageError, match="no alpha channel"):
        write_image(tmp_path / "x.jpg", image)
    assert not (tmp_path / "x.jpg").exists()
    back = read_image(write_image(tmp_path / "x.jpg", image, mode="rgb"))
    assert back.alpha is None


def test_write_mode_grey_uses_bt601_luma(tmp_path: Path) -> None:
    rgb = np.zeros((2, 3, 3), np.float32)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1.0, 0.5, 0.0
    back = read_image(write_image(tmp_path / "l.png", rgb, mode="grey", bit_depth=16))
    assert back.mode == "grey"
    np.testing.assert_allclose(back.rgb, 0.299 + 0.587 * 0.5, atol=1 / 65535)


def test_float_input_is_clipped_and_quantised_to_nearest(tmp_path: Path) -> None:
    values = np.array([[-0.2, 0.0, 0.5 / 255, 0.6 / 255, 1.0, 1.7]], np.float32)
    back = read_image(write_image(tmp_path / "f.png", values))
    np.testing.assert_array_equal(np.rint(back.rgb[0, :, 0] * 255), [0, 0, 0, 1, 255, 255])


def test_non_finite_pixels_are_refused_before_writing(tmp_path: Path) -> None:
    values = np.full((2, 2, 3), 0.5, np.float32)
    values[1, 1, 2] = np.nan
    with pytest.raises(SrkitError, match="NaN"):
        write_image(tmp_path / "nan.png", values)
    assert not (tmp_path / "nan.png").exists()


def test_image_rejects_alpha_of_wrong_size() -> None:
    with pytest.raises(UsageError, match="alpha"):
        Image(rgb=np.zeros((4, 4, 3), np.float32), alpha=np.zeros((4, 5), np.float32), mode="rgba")


def test_write_unsupported_extension_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.gif"):
        write_image(tmp_path / "x.gif", np.zeros((2, 2, 3), np.float32))


def _valid_bytes(ext: str) -> bytes:
    ok, encoded = cv2.imencode(ext, (_smooth_rgb() * 255).astype(np.uint8))
    assert ok
    return encoded.tobytes()


def _assert_read_fails(path: Path, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"cannot read image {path}: ")
    assert reason in message and "\n" not in message


def test_read_missing_file_names_it(tmp_path: Path) -> None:
    _assert_read_fails(tmp_path / "nope.png", "no such file")


def test_read_zero_byte_file_says_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    _assert_read_fails(path, "empty")


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tiff", ".bmp"])
def test_read_truncated_file_says_truncated(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"cut{ext}"
    data = _valid_bytes(ext)
    path.write_bytes(data[: len(data) // 2])
    _assert_read_fails(path, "truncated")


@pytest.mark.parametrize("ext", [".png", ".jpg"])
def test_check_image_file_finds_a_cut_png_or_jpeg_without_decoding(tmp_path: Path, ext: str) -> None:
    from srkit.io.images import check_image_file

    whole, cut = tmp_path / f"whole{ext}", tmp_path / f"cut{ext}"
    data = _valid_bytes(ext)
    whole.write_bytes(data)
    cut.write_bytes(data[:-20])
    assert check_image_file(whole) == whole
    with pytest.raises(InputError, match="truncated"):
        check_image_file(cut)


def test_read_text_with_image_extension_says_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n")
    _assert_read_fails(path, "not a PNG image")


def test_read_unsupported_extension_lists_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    path.write_bytes(b"GIF89a")
    _assert_read_fails(path, ".png")


def test_read_folder_named_like_image_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    _assert_read_fails(tmp_path / "dir.png", "folder")


def test_read_content_decides_codec_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "really_png.jpg"
    path.write_bytes(_valid_bytes(".png"))
    assert read_image(path).rgb.shape == (32, 40, 3)


def test_jpeg_completeness_needs_eoi_after_scan() -> None:
    data = _valid_bytes(".jpg")
    assert jpeg_is_complete(data)
    assert jpeg_is_complete(data + b"trailing video bytes")
    assert not jpeg_is_complete(data[:-2])
    assert not jpeg_is_complete(data[:200])
