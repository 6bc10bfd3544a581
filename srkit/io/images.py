"""Read and write images at srkit's edge: files <-> float32 [0, 1] arrays.

Colour is always HxWx3 RGB (grey repeated into three channels, which is what
the networks take); alpha travels beside it so it can be upscaled separately.
Decoding is OpenCV's ``imdecode(..., IMREAD_UNCHANGED)`` (keeps 16-bit and
alpha) plus EXIF orientation, which that flag ignores for JPEG/PNG/WebP.
Writing converts back to the original layout where the target format can
store it (see :mod:`srkit.io.formats`) and is atomic.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from srkit.errors import InputError, SrkitError, UsageError
from srkit.io.atomic import atomic_path
from srkit.io.containers import declared_size, find_exif, jpeg_is_complete, png_is_complete
from srkit.io.formats import JPEG, PNG, WEBP, ImageFormat, extensions_text, format_for_path, sniff_format
from srkit.io.limits import ENV_VAR, check_declared_size, max_file_bytes
from srkit.io.orientation import apply_orientation, exif_orientation

Mode = Literal["grey", "rgb", "rgba", "grey_alpha"]
BitDepth = Literal[8, 16]

MODES: tuple[str, ...] = ("grey", "rgb", "rgba", "grey_alpha")
JPEG_QUALITY = 95
_MAX_VALUE = {8: 255.0, 16: 65535.0}
_LUMA_BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # same weights as cv2.cvtColor


@dataclass(frozen=True, eq=False)
class Image:
    """A decoded image: ``rgb`` float32 HxWx3 in [0, 1], ``alpha`` float32 HxW in [0, 1] or None.

    ``mode`` is the layout of the file it came from (``grey`` images have three
    equal channels in ``rgb``), ``bit_depth`` its sample depth; both are what
    :func:`write_image` restores by default.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: BitDepth = 8
    mode: Mode = "rgb"
    source: Path | None = None

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3:
            raise UsageError(f"Image.rgb must be HxWx3, got shape {self.rgb.shape}")
        if self.alpha is not None and self.alpha.shape != self.rgb.shape[:2]:
            raise UsageError(f"Image.alpha must be HxW = {self.rgb.shape[:2]}, got {self.alpha.shape}")
        if self.mode not in MODES:
            raise UsageError(f"Image.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if _has_alpha(self.mode) != (self.alpha is not None):
            raise UsageError(
                f"Image.mode {self.mode!r} does not match alpha={'set' if self.alpha is not None else 'None'}"
            )
        if self.bit_depth not in _MAX_VALUE:
            raise UsageError(f"Image.bit_depth must be 8 or 16, got {self.bit_depth}")

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def _has_alpha(mode: str) -> bool:
    return mode in ("rgba", "grey_alpha")


def image_from_array(pixels: np.ndarray, *, bit_depth: BitDepth | None = None, source: Path | None = None) -> Image:
    """Wrap an RGB-ordered HxW, HxWx2, HxWx3 or HxWx4 array as an :class:`Image`.

    uint8/uint16 arrays are scaled by 255/65535 and set ``bit_depth``; float
    arrays are taken as [0, 1] (clipped; NaN/inf raise) with ``bit_depth`` default 8. Four
    channels whose colour channels are all equal count as ``grey_alpha``.
    """
    if pixels.dtype in (np.uint8, np.uint16):
        depth: BitDepth = 8 if pixels.dtype == np.uint8 else 16
        values = pixels.astype(np.float32) / np.float32(_MAX_VALUE[depth])
    elif np.issubdtype(pixels.dtype, np.floating):
        if not np.isfinite(pixels).all():
            raise SrkitError("image holds NaN or infinite values (a numerical failure upstream); nothing written")
        depth = bit_depth or 8
        values = np.clip(pixels, 0.0, 1.0).astype(np.float32, copy=False)
    else:
        raise UsageError(f"unsupported pixel type {pixels.dtype}; use uint8, uint16 or float in [0, 1]")
    if values.ndim == 2:
        values = values[:, :, None]
    if values.ndim != 3 or values.shape[2] not in (1, 2, 3, 4):
        raise UsageError(f"expected an HxW, HxWx2, HxWx3 or HxWx4 image, got shape {pixels.shape}")
    colour, alpha = (values[:, :, :-1], values[:, :, -1]) if values.shape[2] in (2, 4) else (values, None)
    grey = colour.shape[2] == 1 or (
        alpha is not None
        and np.array_equal(colour[:, :, 0], colour[:, :, 1])
        and np.array_equal(colour[:, :, 0], colour[:, :, 2])
    )
    mode: Mode = ("grey_alpha" if grey else "rgba") if alpha is not None else ("grey" if grey else "rgb")
    rgb = np.repeat(colour[:, :, :1], 3, axis=2) if colour.shape[2] == 1 else colour
    return Image(
        rgb=np.ascontiguousarray(rgb),
        alpha=None if alpha is None else np.ascontiguousarray(alpha),
        bit_depth=depth,
        mode=mode,
        source=source,
    )


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own warning log while decoding; failures are reported by srkit instead."""
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def _read_bytes(path: Path) -> bytes:
    def fail(reason: str) -> InputError:
        return InputError(f"cannot read image {path}: {reason}")

    if not path.exists():
        if path.is_symlink():
            raise fail(f"it is a dangling symbolic link (to {os.readlink(path)}, which does not exist)")
        raise fail("no such file")
    if path.is_dir():
        raise fail("it is a folder")
    try:
        size = path.stat().st_size
        if size > max_file_bytes():  # refused before reading it into memory
            raise fail(f"the file is {size / 1e9:.3g} GB, more than an image within the pixel limit can take "
                       f"(set {ENV_VAR} to allow larger images)")
        data = path.read_bytes()
    except OSError as err:
        raise fail(err.strerror or str(err)) from err
    if not data:
        raise fail("the file is empty (0 bytes)")
    return data


def _checked_bytes(path: Path) -> tuple[bytes, ImageFormat]:
    """The file's bytes and sniffed format, refused (one-line ``InputError``) for a missing or empty file, an
    unsupported extension, unrecognised content, a cut JPEG or PNG, or a declared size over the pixel limit
    (:mod:`srkit.io.limits`): everything visible without decoding."""
    named = format_for_path(path)
    if named is None:
        raise InputError(
            f"cannot read image {path}: unsupported extension {path.suffix or '(none)'}; "
            f"srkit reads {extensions_text()}"
        )
    data = _read_bytes(path)
    actual = sniff_format(data)
    if actual is None:
        raise InputError(f"cannot read image {path}: not a {named.name} image (unrecognised content)")
    if (actual is JPEG and not jpeg_is_complete(data)) or (actual is PNG and not png_is_complete(data)):
        raise InputError(f"cannot read image {path}: corrupt or truncated {actual.name} data")
    check_declared_size(path, declared_size(data, actual), actual.name)
    return data, actual


def _decode(data: bytes, path: Path, actual: ImageFormat) -> np.ndarray:
    """Decode ``data`` (checked content of format ``actual``) to an RGB-ordered, upright uint8/uint16 array."""
    try:
        with _quiet_opencv():
            pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as err:  # OpenCV's own limits (e.g. its pixel cap): one line naming the file
        reason = next((line for line in str(err).splitlines() if line.strip()), "").strip()
        raise InputError(f"cannot read image {path}: the {actual.name} decoder refused it ({reason})") from None
    if pixels is None:
        raise InputError(f"cannot read image {path}: corrupt or truncated {actual.name} data")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise InputError(f"cannot read image {path}: {pixels.dtype} samples are not supported; use 8- or 16-bit images")
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        pixels = pixels[:, :, [2, 1, 0, 3][: pixels.shape[2]]]  # BGR(A) -> RGB(A)
    return apply_orientation(pixels, exif_orientation(find_exif(data, actual)))


def check_image_file(path: str | Path) -> Path:
    """Refuse, without decoding, a file :func:`read_image` would fail on for a reason visible in its bytes."""
    _checked_bytes(Path(path))
    return Path(path)


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of an image file as :func:`read_image` would return it (EXIF orientation applied),
    from its header where that tells (no pixels decoded), else by decoding; refused like :func:`read_image`."""
    path = Path(path)
    data, actual = _checked_bytes(path)
    declared = declared_size(data, actual)
    if declared is None:
        image = image_from_array(_decode(data, path, actual), source=path)
        return image.width, image.height
    if exif_orientation(find_exif(data, actual)) in (5, 6, 7, 8):  # EXIF orientations that swap the axes
        return declared[1], declared[0]
    return declared


def read_image(path: str | Path) -> Image:
    """Read a PNG, JPEG, WebP, TIFF or BMP file (8/16-bit; grey, RGB, RGBA) as an upright :class:`Image`.

    Raises ``InputError("cannot read image <path>: <reason>")`` for a missing,
    empty, truncated, corrupt or unsupported file.
    """
    path = Path(path)
    data, actual = _checked_bytes(path)
    return image_from_array(_decode(data, path, actual), source=path)


def _target_layout(image: Image, mode: Mode, fmt: ImageFormat, path: Path) -> np.ndarray:
    """Float HxW[xC] in RGB(A) order for ``mode``, adapted to what ``fmt`` can store."""
    if _has_alpha(mode) and image.alpha is None:
        raise UsageError(f"cannot write {path} as {mode}: the image has no alpha channel")
    if _has_alpha(mode) and not fmt.alpha:
        raise UsageError(
            f"cannot write {path}: {fmt.name} has no alpha channel; "
            "use .png, .webp or .tiff, or write mode 'rgb' to drop alpha"
        )
    if mode in ("grey", "grey_alpha"):
        luma = image.rgb @ _LUMA_BT601
        colour = luma[:, :, None] if mode == "grey" and fmt.grey else np.repeat(luma[:, :, None], 3, axis=2)
    else:
        colour = image.rgb
    pixels = np.concatenate([colour, image.alpha[:, :, None]], axis=2) if _has_alpha(mode) else colour
    return pixels[:, :, 0] if pixels.shape[2] == 1 else pixels


def _quantise(pixels: np.ndarray, bit_depth: int) -> np.ndarray:
    """Round [0, 1] floats to the nearest uint8/uint16 level (inverse of the read scaling)."""
    top = _MAX_VALUE[bit_depth]
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.rint(np.clip(pixels, 0.0, 1.0) * top).astype(dtype)


def _encode_params(fmt: ImageFormat, quality: int | None) -> list[int]:
    """OpenCV encoder flags: JPEG quality 95 with 4:4:4 chroma, WebP lossless unless ``quality`` is given."""
    if fmt is JPEG:
        return [
            cv2.IMWRITE_JPEG_QUALITY,
            quality or JPEG_QUALITY,
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
        ]
    if fmt is WEBP:
        return [cv2.IMWRITE_WEBP_QUALITY, quality or 101]  # > 100 selects lossless
    return []


def write_image(
    path: str | Path,
    image: Image | np.ndarray,
    *,
    bit_depth: BitDepth | None = None,
    mode: Mode | None = None,
    quality: int | None = None,
) -> Path:
    """Encode ``image`` by ``path``'s extension and write it atomically; return the path.

    ``bit_depth`` and ``mode`` default to the image's own (so a read/write pair
    keeps grey grey, RGBA RGBA, 16-bit 16-bit). Format limits: JPEG, WebP and
    BMP store 8 bits only (16-bit input is rounded to 8 bits); WebP has no grey
    layout (grey is written as equal RGB); grey+alpha is written as RGBA with
    equal colour channels (OpenCV writes no 2-channel files); JPEG cannot hold
    alpha (``UsageError``); lossless WebP zeroes the colour under alpha 0.
    An image holding NaN or infinity is never written (``SrkitError``, exit 1).
    ``quality`` (1-100) applies to JPEG (default 95, 4:4:4 chroma) and WebP
    (default lossless). A failure leaves no file under
    ``path`` and any existing file there untouched.
    """
    path = Path(path)
    fmt = format_for_path(path)
    if fmt is None:
        raise UsageError(
            f"cannot write {path}: unsupported extension {path.suffix or '(none)'}; use {extensions_text()}"
        )
    if quality is not None and not 1 <= quality <= 100:
        raise UsageError(f"image quality must be in 1..100, got {quality}")
    img = image if isinstance(image, Image) else image_from_array(image)
    if not np.isfinite(img.rgb).all() or (img.alpha is not None and not np.isfinite(img.alpha).all()):
        raise SrkitError(f"cannot write {path}: the image holds NaN or infinite values (a numerical failure upstream); nothing written")
    depth = bit_depth or img.bit_depth
    if depth not in _MAX_VALUE:
        raise UsageError(f"bit depth must be 8 or 16, got {depth}")
    pixels = _quantise(_target_layout(img, mode or img.mode, fmt, path), depth if depth in fmt.bit_depths else 8)
    if pixels.ndim == 3:
        pixels = pixels[:, :, [2, 1, 0, 3][: pixels.shape[2]]]  # RGB(A) -> BGR(A)
    ok, encoded = cv2.imencode(fmt.extensions[0], np.ascontiguousarray(pixels), _encode_params(fmt, quality))
    if not ok:
        raise SrkitError(f"cannot write {path}: OpenCV failed to encode {fmt.name}")
    try:
        with atomic_path(path, size_hint=encoded.nbytes) as tmp:
            tmp.write_bytes(encoded.tobytes())  # a short write raises ENOSPC (numpy's tofile does not say why)
    except OSError as err:
        raise SrkitError(f"cannot write {path}: {err.strerror or err}") from err
    return path
