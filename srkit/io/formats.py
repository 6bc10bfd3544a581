"""The image formats srkit reads and writes, and what each one can store.

This module is import-light (no numpy, no OpenCV, no torch) so input discovery
and the CLI can use the extension table without paying for the codecs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ImageFormat:
    """One container format and the layouts srkit writes into it (via OpenCV).

    ``bit_depths``: sample depths that can be written; ``grey``: a
    single-channel layout can be written; ``alpha``: an alpha channel can be
    written; ``signature``: bytes regex matching the start of such a file.
    """

    name: str
    extensions: tuple[str, ...]
    bit_depths: tuple[int, ...]
    grey: bool
    alpha: bool
    signature: re.Pattern[bytes]

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` starts like a file of this format."""
        return self.signature.match(data) is not None


def _signature(pattern: bytes) -> re.Pattern[bytes]:
    return re.compile(pattern, re.DOTALL)


PNG = ImageFormat("PNG", (".png",), (8, 16), True, True, _signature(rb"\x89PNG\r\n\x1a\n"))
JPEG = ImageFormat("JPEG", (".jpg", ".jpeg"), (8,), True, False, _signature(rb"\xff\xd8\xff"))
WEBP = ImageFormat("WebP", (".webp",), (8,), False, True, _signature(rb"RIFF.{4}WEBP"))
TIFF = ImageFormat("TIFF", (".tif", ".tiff"), (8, 16), True, True, _signature(rb"II[*+]\x00|MM\x00[*+]"))
BMP = ImageFormat("BMP", (".bmp",), (8,), True, True, _signature(rb"BM"))

FORMATS: tuple[ImageFormat, ...] = (PNG, JPEG, WEBP, TIFF, BMP)
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(e for f in FORMATS for e in f.extensions)


def extensions_text() -> str:
    """The supported extensions as one sorted, comma-separated string for messages."""
    return ", ".join(sorted(SUPPORTED_EXTENSIONS))


def format_for_path(path: str | Path) -> ImageFormat | None:
    """The format named by ``path``'s extension (case-insensitive), or None."""
    suffix = Path(path).suffix.lower()
    return next((f for f in FORMATS if suffix in f.extensions), None)


def sniff_format(data: bytes) -> ImageFormat | None:
    """The format whose magic bytes start ``data``, or None."""
    return next((f for f in FORMATS if f.matches(data)), None)


def alpha_notes(entries: list[dict]) -> list[str]:
    """One note for report entries flagged ``alpha_dropped`` (an RGBA input written to a format without alpha)."""
    dropped = [entry for entry in entries if entry.get("alpha_dropped")]
    if not dropped:
        return []
    first = Path(dropped[0]["output"])
    fmt = format_for_path(first)
    return [
        f"alpha channel dropped from {len(dropped)} output(s) such as {first.name}: {fmt.name if fmt else first.suffix} "
        "cannot store it; use --ext png or --ext webp to keep it"
    ]
