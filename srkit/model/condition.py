"""The condition ``y``, written once for training and inference (docs/architecture.md, "the model layer").

``y`` is the LR image taken to the output size, in the engine's [-1, 1]: by
default the bicubic upsampling of :func:`upsample_condition`; with a
preprocessor stage (e.g. an RRDBNet restorer, as DoSSR uses), that stage's
output instead. Training (``DiffusionTask.state_pair``) and inference
(``SRModel.condition``) both call :func:`condition_image`, so the two cannot drift.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor

from srkit.degrade.bicubic import upsample_bicubic
from srkit.errors import UsageError


class Preprocessor(Protocol):
    """A stage before the diffusion model: LR (B,3,h,w) in [0,1] -> (image (B,3,h*scale,w*scale) in [0,1], NFE).

    Any object with the ``ReleasedPipeline`` surface of :mod:`srkit.released.base`
    fits (e.g. Real-ESRGAN x4plus from ``srkit.pretrained.realesrgan``).
    """

    scale: int

    def super_resolve(self, lr: Tensor) -> tuple[Tensor, int]: ...


def upsample_condition(lr: Tensor, scale: int) -> Tensor:
    """``lr`` (B,C,h,w) upsampled by ``scale`` exactly as training makes ``y``: srkit.degrade's PIL-compatible bicubic.

    Local (each output pixel sees a 4x4 LR neighbourhood, edges replicated), so
    the upsampling of an LR crop equals the crop of the upsampling away from the
    crop's inner borders, which is what tiling relies on.
    """
    return lr if scale == 1 else upsample_bicubic(lr, scale)


def reference_image(lr: Tensor, scale: int, preprocess: Preprocessor | None = None) -> Tensor:
    """The condition image on the [0, 1] scale: the preprocessor's output P (clamped), or the bicubic upsampling
    (not clamped: bicubic overshoots, and training has always seen it so)."""
    if preprocess is None:
        return upsample_condition(lr, scale)
    if int(preprocess.scale) != scale:
        raise UsageError(f"the preprocessor upscales x{preprocess.scale}, the model x{scale}")
    with torch.no_grad():
        image, _ = preprocess.super_resolve(lr)
    return image.to(lr.device, lr.dtype).clamp(0.0, 1.0)


def condition_image(lr: Tensor, scale: int, preprocess: Preprocessor | None = None) -> Tensor:
    """``y`` in pixel space, [-1, 1]: :func:`reference_image` mapped by ``2x - 1``."""
    return reference_image(lr, scale, preprocess) * 2.0 - 1.0
