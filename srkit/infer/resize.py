"""Resizes at the inference edges: the condition ``y`` (torch) and output-side resizes (numpy).

``y`` must be made exactly as in training (docs/architecture.md: "the LR image
resized (bicubic) to the output size"), so :func:`upsample_condition` is the one
function both sides call. Output-side resizes (alpha channels, a ``--scale``
other than the model's) work on HxWxC float arrays with OpenCV, which needs
no extra copies for multi-gigapixel outputs.
"""

from __future__ import annotations

import cv2
import numpy as np
from torch import Tensor


def upsample_condition(lr: Tensor, scale: int) -> Tensor:
    """``lr`` (B,C,h,w) upsampled by ``scale`` exactly as training makes ``y``: srkit.degrade's PIL-compatible bicubic.

    Local (each output pixel sees a 4x4 LR neighbourhood, edges replicated), so
    the upsampling of an LR crop equals the crop of the upsampling away from the
    crop's inner borders, which is what tiling relies on.
    """
    from srkit.degrade.bicubic import upsample_bicubic

    return lr if scale == 1 else upsample_bicubic(lr, scale)


def resize_array(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an HxW or HxWxC float array: bicubic when enlarging, area averaging when shrinking."""
    if pixels.shape[:2] == (height, width):
        return pixels
    shrinking = height < pixels.shape[0] and width < pixels.shape[1]
    out = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    return np.clip(out, 0.0, 1.0, out=out)
