"""CCSR v1's image sizes, as its inference script makes them: 8-bit PIL resizes around the sampler.

``inference_ccsr.py`` (non-tiled) turns an LR image into the control image C and the
sampler's output back into the result with Pillow, on 8-bit RGB:

1. bicubic to ``ceil(size * scale)``;
2. if the short side is below ``process_size`` (512), bicubic so that it is at least
   that: both sides times ``r = process_size / short``, rounded up;
3. Lanczos to the sides floored to multiples of 64 (the UNet's requirement);
4. after sampling (and the colour fix against C), the output in [0, 1] is quantised by
   truncation (``(x * 255).astype(uint8)``) and resized with Lanczos to the size of step 1.

srkit's LR tensors come from 8-bit files, so rounding them to 8 bits first is lossless.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from srkit.degrade.ops import to_uint8

#: the UNet of SD-2.1 needs sides that are multiples of this many pixels
UNET_MULTIPLE = 64


def upscaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """Step 1: ``(ceil(height * scale), ceil(width * scale))``."""
    return math.ceil(height * scale), math.ceil(width * scale)


def _short_side_at_least(height: int, width: int, process_size: int) -> tuple[int, int]:
    """Step 2's size: both sides times ``r = process_size / short``, rounded up, if the short side is below it."""
    short = min(height, width)
    if short >= process_size:
        return height, width
    r = process_size / short
    return math.ceil(height * r), math.ceil(width * r)


def control_size(height: int, width: int, scale: float, process_size: int) -> tuple[int, int]:
    """Height and width of the control image C for an LR of ``height x width`` (steps 1-3)."""
    h, w = _short_side_at_least(*upscaled_size(height, width, scale), process_size)
    h, w = h // UNET_MULTIPLE * UNET_MULTIPLE, w // UNET_MULTIPLE * UNET_MULTIPLE
    if h == 0 or w == 0:
        raise ValueError(f"an LR of {height}x{width} gives no {UNET_MULTIPLE}-pixel grid at process size {process_size}")
    return h, w


def _to_pil(image: Tensor) -> Image.Image:
    """One (3, h, w) image in [0, 1] as 8-bit RGB, rounded (the file it came from)."""
    return Image.fromarray(to_uint8(image.detach().float()).permute(1, 2, 0).cpu().numpy(), "RGB")


def _from_pil(image: Image.Image, like: Tensor) -> Tensor:
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).to(device=like.device, dtype=like.dtype)


def control_image(lr: Tensor, scale: float, process_size: int) -> Tensor:
    """Steps 1-3 on an LR batch ``(B, 3, h, w)`` in [0, 1]: the control images C in [0, 1], same dtype and device."""
    height, width = lr.shape[-2:]
    h1, w1 = upscaled_size(height, width, scale)
    h2, w2 = _short_side_at_least(h1, w1, process_size)
    hc, wc = control_size(height, width, scale, process_size)
    out = []
    for image in lr:
        pil = _to_pil(image).resize((w1, h1), Image.BICUBIC)
        if (h2, w2) != (h1, w1):
            pil = pil.resize((w2, h2), Image.BICUBIC)
        out.append(_from_pil(pil.resize((wc, hc), Image.LANCZOS), lr))
    return torch.stack(out)


def output_image(image: Tensor, height: int, width: int) -> Tensor:
    """Step 4: a batch in [0, 1] quantised by truncation and Lanczos-resized to ``height x width`` (step 1's size)."""
    out = []
    for one in image:
        array = (one.detach().float().clamp(0.0, 1.0) * 255.0).permute(1, 2, 0).cpu().numpy().astype(np.uint8)
        out.append(_from_pil(Image.fromarray(array, "RGB").resize((width, height), Image.LANCZOS), image.float()))
    return torch.stack(out)
