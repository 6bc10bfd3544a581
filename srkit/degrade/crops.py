"""Crop rules that make ``LR size = HR size / scale`` exact.

- Whole images: the HR is cropped at the top-left to the largest multiple of
  ``scale`` in each dimension (``crop_to_multiple``): a 67x53 HR at x4 becomes
  64x52 and its LR 16x13. At most ``scale - 1`` rows/columns are dropped, at the
  bottom and right.
- Random crops of ``size`` (a multiple of ``scale``): the top-left corner is
  uniform over all positions that fit (``random_crop_box``); an image smaller
  than ``size`` in either dimension yields no pair.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from srkit.errors import UsageError


class CropBox(NamedTuple):
    """A crop ``[top:top+height, left:left+width]``."""

    top: int
    left: int
    height: int
    width: int

    def cut(self, image: np.ndarray) -> np.ndarray:
        """The crop of an H x W (x C) array (a view)."""
        return image[self.top : self.top + self.height, self.left : self.left + self.width]


def crop_to_multiple(height: int, width: int, scale: int) -> CropBox:
    """The top-left crop whose sides are the largest multiples of ``scale``."""
    box = CropBox(0, 0, height - height % scale, width - width % scale)
    if box.height == 0 or box.width == 0:
        raise UsageError(f"image of {height}x{width} is smaller than the scale {scale}")
    return box


def centre_crop_box(height: int, width: int, size: int, scale: int) -> CropBox:
    """The centred crop of at most ``size`` per side, sides and corner multiples of ``scale``.

    Corner and sides on the ``scale`` grid make the matching LR crop exact:
    ``[top/scale : (top+height)/scale]``. A side shorter than ``size`` keeps its
    largest multiple of ``scale``.
    """
    box = crop_to_multiple(height, width, scale)
    crop_h, crop_w = min(box.height, size - size % scale), min(box.width, size - size % scale)
    if crop_h == 0 or crop_w == 0:
        raise UsageError(f"a centre crop of {size} is smaller than the scale {scale}")
    top = (height - crop_h) // 2 // scale * scale
    left = (width - crop_w) // 2 // scale * scale
    return CropBox(top, left, crop_h, crop_w)


def random_crop_box(height: int, width: int, size: int, rng: np.random.Generator) -> CropBox | None:
    """A uniformly placed ``size x size`` crop, or None when the image is too small."""
    if height < size or width < size:
        return None
    top = int(rng.integers(height - size + 1))
    left = int(rng.integers(width - size + 1))
    return CropBox(top, left, size, size)


def check_crop_size(size: int, scale: int) -> None:
    """UsageError unless ``size`` is a positive multiple of ``scale``."""
    if size < scale or size % scale:
        raise UsageError(
            f"--crop {size} must be a positive multiple of --scale {scale} (e.g. {max(scale, size - size % scale)})"
        )
