"""Output-side resizes (alpha channels, a ``--scale`` other than the model's) on HxWxC float arrays.

OpenCV needs no extra copies for multi-gigapixel outputs. The condition ``y`` is
made in :mod:`srkit.model.condition`, the one place training and inference share.
"""

from __future__ import annotations

import cv2
import numpy as np


def resize_array(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an HxW or HxWxC float array: bicubic when enlarging, area averaging when shrinking."""
    if pixels.shape[:2] == (height, width):
        return pixels
    shrinking = height < pixels.shape[0] and width < pixels.shape[1]
    out = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0, out=out)
