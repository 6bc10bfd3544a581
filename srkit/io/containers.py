"""Byte-level looks inside image containers, without decoding pixels.

Two jobs need this: finding the EXIF block (OpenCV's ``IMREAD_UNCHANGED``
ignores EXIF orientation) and spotting truncated JPEGs (some libjpeg builds
decode a cut file with a grey bottom instead of failing).
References: JPEG = ITU-T T.81 Annex B (markers), PNG = ISO/IEC 15948 §5
(chunks, ``eXIf`` from PNG 1.5 extensions), WebP = RIFF container spec.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from srkit.io.formats import JPEG, PNG, WEBP, ImageFormat

_JPEG_SOS = 0xDA
_JPEG_EOI = 0xD9
_JPEG_APP1 = 0xE1
_EXIF_PREFIX = b"Exif\x00\x00"


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield ``(marker, payload_start, payload_end)`` from SOI up to and including SOS.

    T.81 B.1.1: every marker is 0xFF (fill bytes allowed) + code; all but
    SOI/EOI/RSTn/TEM carry a 2-byte big-endian length that includes itself.
    """
    pos = 2  # after SOI
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            return
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue
        if marker == _JPEG_EOI or pos + 2 > len(data):
            return
        (length,) = struct.unpack_from(">H", data, pos)
        yield marker, pos + 2, pos + length
        if marker == _JPEG_SOS:
            return
        pos += length


def jpeg_is_complete(data: bytes) -> bool:
    """Whether a JPEG has its end-of-image marker after the first scan header.

    Entropy-coded data byte-stuffs 0xFF (T.81 F.1.2.3), so ``FF D9`` after SOS
    can only be EOI; bytes after EOI (e.g. appended motion-photo video) are fine.
    """
    for marker, _, end in _jpeg_segments(data):
        if marker == _JPEG_SOS:
            return data.find(b"\xff\xd9", end) != -1
    return False


def png_is_complete(data: bytes) -> bool:
    """Whether a PNG's chunk chain reaches its IEND chunk (a cut file ends before it; PNG spec 5.6)."""
    return any(kind == b"IEND" for kind, _ in _png_chunks(data))


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(type, payload)`` for each PNG chunk (length, type, data, CRC)."""
    pos = 8  # after the signature
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        yield kind, data[pos + 8 : pos + 8 + length]
        if kind == b"IEND":
            return
        pos += 12 + length


def _riff_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(fourcc, payload)`` for each chunk of a RIFF/WebP file (padded to even size)."""
    pos = 12  # after "RIFF", size, "WEBP"
    while pos + 8 <= len(data):
        fourcc, size = struct.unpack_from("<4sI", data, pos)
        yield fourcc, data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)


def find_exif(data: bytes, fmt: ImageFormat | None) -> bytes | None:
    """The EXIF block (a TIFF-structured byte string) of a JPEG, PNG or WebP file, or None.

    TIFF files are not searched: OpenCV's TIFF decoder applies their
    orientation tag itself. BMP has no EXIF.
    """
    if fmt is JPEG:
        for marker, start, end in _jpeg_segments(data):
            if marker == _JPEG_APP1 and data.startswith(_EXIF_PREFIX, start):
                return data[start + len(_EXIF_PREFIX) : end]
    elif fmt is PNG:
        return next((payload for kind, payload in _png_chunks(data) if kind == b"eXIf"), None)
    elif fmt is WEBP:
        block = next((payload for kind, payload in _riff_chunks(data) if kind == b"EXIF"), None)
        if block is not None and block.startswith(_EXIF_PREFIX):  # some writers keep the JPEG prefix
            return block[len(_EXIF_PREFIX) :]
        return block
    return None
