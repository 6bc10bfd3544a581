"""The CCSR scripts' image sizes: the 8-bit PIL resizes around the sampler, v1 and v2.

Both scripts turn an LR image into the control image C, and the sampler's output back
into the result, with Pillow on 8-bit RGB. srkit's LR tensors come from 8-bit files, so
rounding them to 8 bits first is lossless.

**CCSR v1** (``inference_ccsr.py``, non-tiled):

1. bicubic to ``ceil(size * scale)``;
2. if the short side is below ``process_size`` (512), bicubic so that it is at least
   that: both sides times ``r = process_size / short``, rounded up;
3. Lanczos to the sides floored to multiples of 64 (the UNet's requirement; the tiled script
   ``inference_ccsr_tile.py`` rounds up instead, to ``(side // 64 + 1) * 64``, and step 2 uses
   its tile size);
4. after sampling (and the colour fix against C), the output in [0, 1] is quantised by
   truncation (``(x * 255).astype(uint8)``) and resized with Lanczos to the size of step 1.

**CCSR v2** (``test_ccsr_tile.py``, non-tiled; Pillow's default filter, bicubic):

1. if a side is below ``process_size // scale`` (128), bicubic so that the short side is
   that: both sides times ``r = (process_size // scale) / short``, rounded half to even
   (Python's ``round``);
2. bicubic to ``size * scale``;
3. bicubic to the sides floored to multiples of 8 (the VAE's factor);
4. after sampling, the pipeline's image is rounded to 8 bits; the AdaIN fix against C
   runs on those 8 bits and is truncated to 8 bits again (``ToPILImage``), then resized
   with bicubic to ``scale`` times the LR.

Pillow returns a plain copy when a resize keeps the size, so a step that keeps the size
is skipped here.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from srkit.degrade.ops import to_uint8
from srkit.model.color_fix import adain_transfer

#: the UNet of SD-2.1 needs sides that are multiples of this many pixels (CCSR v1 step 3)
UNET_MULTIPLE = 64
#: CCSR v2 floors its control image to multiples of this many pixels (the VAE's factor; step 3)
VAE_MULTIPLE = 8


def _to_pil(image: Tensor) -> Image.Image:
    """One (3, h, w) image in [0, 1] as 8-bit RGB, rounded (the file it came from)."""
    return Image.fromarray(to_uint8(image.detach().float()).permute(1, 2, 0).cpu().numpy(), "RGB")


def _truncated_pil(image: Tensor) -> Image.Image:
    """One (3, h, w) image in [0, 1] as 8-bit RGB, clamped and truncated (``astype(uint8)``, ``ToPILImage``)."""
    array = (image.detach().float().clamp(0.0, 1.0) * 255.0).permute(1, 2, 0).cpu().numpy().astype(np.uint8)
    return Image.fromarray(array, "RGB")


def _from_pil(image: Image.Image, like: Tensor) -> Tensor:
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).to(device=like.device, dtype=like.dtype)


def _resized(image: Image.Image, height: int, width: int, resample: int) -> Image.Image:
    return image if image.size == (width, height) else image.resize((width, height), resample)


def _floored(height: int, width: int, multiple: int, what: str) -> tuple[int, int]:
    h, w = height // multiple * multiple, width // multiple * multiple
    if h == 0 or w == 0:
        raise ValueError(f"{what} gives no {multiple}-pixel grid")
    return h, w


# --- CCSR v1 ---------------------------------------------------------------------------------


def v1_upscaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """v1 step 1: ``(ceil(height * scale), ceil(width * scale))``."""
    return math.ceil(height * scale), math.ceil(width * scale)


def _v1_short_side_at_least(height: int, width: int, process_size: int) -> tuple[int, int]:
    """v1 step 2's size: both sides times ``r = process_size / short``, rounded up, if the short side is below it."""
    short = min(height, width)
    if short >= process_size:
        return height, width
    r = process_size / short
    return math.ceil(height * r), math.ceil(width * r)


def v1_control_size(height: int, width: int, scale: float, process_size: int, *, tiled: bool = False) -> tuple[int, int]:
    """Height and width of CCSR v1's control image C for an LR of ``height x width`` (v1 steps 1-3).

    ``tiled``: the tiled script's step 3, ``(side // 64 + 1) * 64`` (up, and one more 64 when already a multiple).
    """
    h, w = _v1_short_side_at_least(*v1_upscaled_size(height, width, scale), process_size)
    if tiled:
        return (h // UNET_MULTIPLE + 1) * UNET_MULTIPLE, (w // UNET_MULTIPLE + 1) * UNET_MULTIPLE
    return _floored(h, w, UNET_MULTIPLE, f"an LR of {height}x{width} at process size {process_size}")


def v1_control_image(lr: Tensor, scale: float, process_size: int, *, tiled: bool = False) -> Tensor:
    """v1 steps 1-3 on an LR batch ``(B, 3, h, w)`` in [0, 1]: the control images C in [0, 1], same dtype and device."""
    height, width = lr.shape[-2:]
    h1, w1 = v1_upscaled_size(height, width, scale)
    h2, w2 = _v1_short_side_at_least(h1, w1, process_size)
    hc, wc = v1_control_size(height, width, scale, process_size, tiled=tiled)
    out = []
    for image in lr:
        pil = _resized(_to_pil(image).resize((w1, h1), Image.BICUBIC), h2, w2, Image.BICUBIC)
        out.append(_from_pil(pil.resize((wc, hc), Image.LANCZOS), lr))
    return torch.stack(out)


def v1_output_image(image: Tensor, height: int, width: int) -> Tensor:
    """v1 step 4: a batch in [0, 1] quantised by truncation and Lanczos-resized to ``height x width`` (step 1's size)."""
    return torch.stack([_from_pil(_truncated_pil(one).resize((width, height), Image.LANCZOS), image.float()) for one in image])


# --- CCSR v2 ---------------------------------------------------------------------------------


def _v2_short_side_upsized(height: int, width: int, scale: int, process_size: int) -> tuple[int, int]:
    """v2 step 1's size: if a side is below ``process_size // scale``, the short side becomes it (sides rounded half to even)."""
    low = process_size // scale
    if width >= low and height >= low:
        return height, width
    r = low / min(width, height)
    return round(r * height), round(r * width)


def v2_control_size(height: int, width: int, scale: int, process_size: int) -> tuple[int, int]:
    """Height and width of CCSR v2's control image C for an LR of ``height x width`` (v2 steps 1-3)."""
    h, w = _v2_short_side_upsized(height, width, scale, process_size)
    return _floored(h * scale, w * scale, VAE_MULTIPLE, f"an LR of {height}x{width} at process size {process_size}")


def v2_control_image(lr: Tensor, scale: int, process_size: int) -> Tensor:
    """v2 steps 1-3 on an LR batch ``(B, 3, h, w)`` in [0, 1]: the control images C in [0, 1], same dtype and device."""
    height, width = lr.shape[-2:]
    h1, w1 = _v2_short_side_upsized(height, width, scale, process_size)
    hc, wc = v2_control_size(height, width, scale, process_size)
    out = []
    for image in lr:
        pil = _resized(_to_pil(image), h1, w1, Image.BICUBIC).resize((w1 * scale, h1 * scale), Image.BICUBIC)
        out.append(_from_pil(_resized(pil, hc, wc, Image.BICUBIC), lr))
    return torch.stack(out)


def v2_output_image(decoded: Tensor, control: Tensor, height: int, width: int) -> Tensor:
    """v2 step 4: the decoded batch in [0, 1] rounded to 8 bits, AdaIN-fixed against ``control``,
    truncated to 8 bits and bicubic-resized to ``height x width``."""
    image = to_uint8(decoded.detach().float()).float() / 255.0
    fixed = adain_transfer(image, control.float())
    return torch.stack([_from_pil(_resized(_truncated_pil(one), height, width, Image.BICUBIC), image) for one in fixed])
