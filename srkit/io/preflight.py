"""Every input of a run checked before its first result, from headers where they suffice.

A run over N images should not fail on image N after minutes of work (and files
written for images 1..N-1) for a reason visible up front: an unreadable or cut
file, a declared size over the pixel limit, or an image too small for the job
(a 1x1 photo cannot be downscaled 4x). :func:`check_images` reads each file's
bytes and header (:func:`srkit.io.images.image_size`), decoding only when the
header does not tell the size.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from srkit.errors import InputError


def check_images(paths: Iterable[str | Path], *, min_side: int = 1, why: str = "") -> list[tuple[int, int]]:
    """Refuse (one-line ``InputError`` naming the first bad file) unreadable images and images with a side
    shorter than ``min_side`` pixels; ``why`` says what needs that size (e.g. ``"the scale 4"``).
    Returns every image's ``(width, height)``."""
    from srkit.io.images import image_size

    sizes = []
    for path in paths:
        width, height = image_size(path)
        if min(width, height) < min_side:
            need = f" {why}" if why else f" {min_side} px"
            raise InputError(f"{path}: image of {width}x{height} is smaller than{need}; remove it or pass --limit")
        sizes.append((width, height))
    return sizes


def references_note(folder: str | Path, count: int, crop: int) -> str:
    """``R references cut from U of N photos in FOLDER`` (photos smaller than ``crop`` cannot give a crop)."""
    from srkit.io.discovery import find_images
    from srkit.io.images import image_size

    items = find_images(folder)
    usable = sum(min(image_size(item.path)) >= crop for item in items)
    skipped = f"; {len(items) - usable} smaller than {crop} px skipped" if usable < len(items) else ""
    return f"{count} references of {crop} px cut from {min(usable, count)} of the {len(items)} photos in {folder}{skipped}"
