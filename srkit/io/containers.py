"""Byte-level looks inside image containers, without decoding pixels.

Three jobs need this: finding the EXIF block (OpenCV's ``IMREAD_UNCHANGED``
ignores EXIF orientation), spotting truncated JPEGs (some libjpeg builds
decode a cut file with a grey bottom instead of failing) and reading the size a
header declares (a 100000x100000 PNG is refused before a decoder allocates it).
References: JPEG = ITU-T T.81 Annex B (markers), PNG = ISO/IEC 15948 §5
(chunks, ``eXIf`` from PNG 1.5 extensions), WebP = RIFF container spec and
the VP8/VP8L bitstream headers (RFC 6386 §9.1, RFC 9649 §3), TIFF 6.0 §2
(and BigTIFF), BMP = the Windows DIB headers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from srkit.io.formats import BMP, JPEG, PNG, TIFF, WEBP, ImageFormat

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


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first start-of-frame segment (T.81 B.2.2: SOF0-SOF15 but DHT, JPG, DAC)."""
    for marker, start, _ in _jpeg_segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and start + 5 <= len(data):
            height, width = struct.unpack_from(">HH", data, start + 1)  # after the sample precision byte
            return width, height
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk, which PNG requires first (ISO/IEC 15948 §11.2.2)."""
    if len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack_from(">II", data, 16)
        return width, height
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """Canvas size from VP8X (24-bit minus-one fields), VP8L (14-bit minus-one fields) or VP8 (14-bit fields)."""
    for fourcc, payload in _riff_chunks(data):
        if fourcc == b"VP8X" and len(payload) >= 10:
            return 1 + int.from_bytes(payload[4:7], "little"), 1 + int.from_bytes(payload[7:10], "little")
        if fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
            bits = int.from_bytes(payload[1:5], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if fourcc == b"VP8 " and len(payload) >= 10:
            width, height = struct.unpack_from("<HH", payload, 6)  # after the frame tag and start code
            return width & 0x3FFF, height & 0x3FFF
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first IFD (TIFF 6.0 §2; BigTIFF's 8-byte layout too)."""
    if len(data) < 16:
        return None
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack_from(f"{order}H", data, 2)[0] == 43
    offset = struct.unpack_from(f"{order}Q" if big else f"{order}I", data, 8 if big else 4)[0]
    count_fmt, entry_size, value_at = (f"{order}Q", 20, 12) if big else (f"{order}H", 12, 8)
    if offset + struct.calcsize(count_fmt) > len(data):
        return None
    count = struct.unpack_from(count_fmt, data, offset)[0]
    found: dict[int, int] = {}
    base = offset + struct.calcsize(count_fmt)
    for k in range(min(count, 4096)):
        pos = base + k * entry_size
        if pos + entry_size > len(data):
            break
        tag, kind = struct.unpack_from(f"{order}HH", data, pos)
        if tag in (256, 257):
            value_fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if value_fmt is not None:
                found[tag] = struct.unpack_from(f"{order}{value_fmt}", data, pos + value_at)[0]
    if 256 in found and 257 in found:
        return found[256], found[257]
    return None


def _bmp_size(data: bytes) -> tuple[int, int] | None:
    """Width and |height| from the DIB header (16-bit fields in the old OS/2 core header, else signed 32-bit)."""
    if len(data) < 26:
        return None
    header = struct.unpack_from("<I", data, 14)[0]
    if header == 12:
        return struct.unpack_from("<HH", data, 18)
    width, height = struct.unpack_from("<ii", data, 18)
    return abs(width), abs(height)


_SIZE_READERS = {JPEG: _jpeg_size, PNG: _png_size, WEBP: _webp_size, TIFF: _tiff_size, BMP: _bmp_size}


def declared_size(data: bytes, fmt: ImageFormat | None) -> tuple[int, int] | None:
    """The ``(width, height)`` a file's header declares, read without decoding pixels; None if not found."""
    reader = _SIZE_READERS.get(fmt) if fmt is not None else None
    try:
        return reader(data) if reader is not None else None
    except struct.error:
        return None
