"""EXIF orientation: read the tag and turn pixels upright.

EXIF 2.32 §4.6.4 tag 0x0112 (TIFF 6.0 "Orientation"): value v says where the
stored row 0 / column 0 sit in the scene; applying the listed transform to the
stored array gives the upright image.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

_ORIENTATION_TAG = 0x0112
_SHORT = 3

_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored horizontally
    3: lambda a: a[::-1, ::-1],  # rotated 180
    4: lambda a: a[::-1],  # mirrored vertically
    5: lambda a: np.swapaxes(a, 0, 1),  # transposed
    6: lambda a: np.rot90(a, -1),  # needs 90 degrees clockwise
    7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),  # transversed
    8: lambda a: np.rot90(a, 1),  # needs 90 degrees counter-clockwise
}


def exif_orientation(block: bytes | None) -> int:
    """The orientation value (1..8) in a TIFF-structured EXIF block; 1 when absent or malformed.

    Reads IFD0 only: byte order ``II``/``MM``, magic 42, IFD offset, then
    12-byte entries ``(tag, type, count, value)``.
    """
    if not block or len(block) < 8:
        return 1
    order = {b"II": "<", b"MM": ">"}.get(block[:2])
    if order is None:
        return 1
    magic, ifd = struct.unpack_from(order + "HI", block, 2)
    if magic != 42 or ifd + 2 > len(block):
        return 1
    (count,) = struct.unpack_from(order + "H", block, ifd)
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(block) - 11), 12):
        tag, kind, n = struct.unpack_from(order + "HHI", block, entry)
        if tag == _ORIENTATION_TAG and kind == _SHORT and n >= 1:
            (value,) = struct.unpack_from(order + "H", block, entry + 8)
            return value if value in _UPRIGHT else 1
    return 1


def apply_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an HxW[xC] array stored with EXIF ``orientation`` upright (contiguous copy unless 1)."""
    if orientation == 1:
        return pixels
    return np.ascontiguousarray(_UPRIGHT[orientation](pixels))
