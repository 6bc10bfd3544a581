"""The largest image srkit decodes, checked from the header before any pixel is allocated.

A small file can declare a huge canvas (a 100000x100000 PNG compresses to a
few kilobytes) and make a decoder allocate tens of gigabytes. srkit reads the
declared width and height (:func:`srkit.io.containers.declared_size`) and
refuses an image over the limit as unreadable, naming the file and its size; a
file larger than any image within the limit could be is refused before it is read.

The limit is :data:`DEFAULT_MAX_PIXELS` (256 MP: a 16000x16000 photo; four
times below OpenCV's own 2**30 cap) unless the environment variable
``SRKIT_MAX_PIXELS`` sets another (a pixel count such as ``500000000``, or
``0`` for no srkit limit), or :func:`set_max_pixels` does in a program.
"""

from __future__ import annotations

import os
from pathlib import Path

from srkit.errors import InputError, UsageError

DEFAULT_MAX_PIXELS = 1 << 28
ENV_VAR = "SRKIT_MAX_PIXELS"

_override: int | None = None


def set_max_pixels(pixels: int | None) -> None:
    """Set the limit for this process (``None``: back to ``SRKIT_MAX_PIXELS`` or the default; 0: no limit)."""
    global _override
    if pixels is not None and pixels < 0:
        raise UsageError(f"the pixel limit must be >= 0 (0 = none), got {pixels}")
    _override = pixels


def max_pixels() -> int:
    """The pixel limit in force (0 = none): :func:`set_max_pixels`, else ``SRKIT_MAX_PIXELS``, else the default."""
    if _override is not None:
        return _override
    text = os.environ.get(ENV_VAR, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text)) if text.lower() not in ("none", "off") else 0
    except ValueError:
        raise UsageError(f"{ENV_VAR} must be a pixel count such as 500000000 (0 = no limit), got {text!r}") from None
    if value < 0:
        raise UsageError(f"{ENV_VAR} must be >= 0 (0 = no limit), got {value}")
    return value


def max_file_bytes() -> float:
    """The largest image file srkit reads into memory: the pixel limit at 16-bit RGBA, uncompressed
    (8 bytes a pixel), plus 64 MB for metadata (EXIF, ICC, thumbnails); unlimited without a pixel limit."""
    limit = max_pixels()
    return float("inf") if not limit else 8 * limit + 64 * 2**20


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.4g} MP"


def check_declared_size(path: str | Path, size: tuple[int, int] | None, format_name: str) -> None:
    """Refuse (``InputError``, so ``--skip-unreadable`` leaves it out) an image whose header declares a zero
    side or more pixels than :func:`max_pixels`; ``size`` is ``(width, height)`` or None when unknown."""
    if size is None:
        return
    width, height = size
    if width <= 0 or height <= 0:
        raise InputError(f"cannot read image {path}: its {format_name} header declares {width}x{height} pixels")
    limit = max_pixels()
    if limit and width * height > limit:
        raise InputError(
            f"cannot read image {path}: it declares {width}x{height} pixels ({_megapixels(width * height)}), "
            f"over srkit's limit of {_megapixels(limit)} (set {ENV_VAR} to a larger pixel count to allow it)"
        )
