"""Free memory and a conservative peak-memory model, for ``--tile auto``.

Estimate (inference, no autograd): the UNet holds its skip activations while it
runs, ``(num_res_blocks + 1) * C_i`` channels at level ``i`` (area ``4^-i``)
plus the input conv, and a working set of about ``8 * C_0`` channels at full
resolution (concatenated skip, norm, conv outputs, residual). Attention uses
``scaled_dot_product_attention``, whose fused kernels need memory linear in the
tokens. Per state pixel and per sample::

    bytes = dtype_bytes * (C_0 + sum_i (R + 1) C_i / 4^i + 8 C_0) * SAFETY

with ``SAFETY = 2`` (allocator slack, the sampler's own tensors). The
autoencoder decoder in latent mode adds ``dtype_bytes * 8 * C_ae * SAFETY`` per
output pixel. A tile is the largest square whose estimate for ``batch``
samples fits in ``BUDGET_FRACTION`` of the free memory after the whole-image
buffers (the blended output and its weights: 16 bytes per output pixel, on CPU).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from srkit.nets.config import AutoencoderConfig, UNetConfig
    from srkit.recipes import Recipe

SAFETY = 2.0
BUDGET_FRACTION = 0.5
WORKING_CHANNELS = 8
IMAGE_BUFFER_BYTES_PER_PIXEL = 16  # float32 RGB sum + float32 weight
MIN_TILE = 64
MAX_TILE = 2048
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


def free_memory_bytes(device: torch.device | str) -> int:
    """Free memory of ``device``: ``torch.cuda.mem_get_info`` on CUDA, ``MemAvailable`` of /proc/meminfo on CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3  # unknown platform: assume 4 GiB


def unet_bytes_per_state_pixel(cfg: "UNetConfig", precision: str = "fp32") -> float:
    """Peak activation bytes per state pixel and sample of a UNet (see the module docstring)."""
    base, mult = cfg.base_channels, cfg.channel_mult
    skips = base + sum((cfg.num_res_blocks + 1) * base * m / 4**level for level, m in enumerate(mult))
    return DTYPE_BYTES[precision] * (skips + WORKING_CHANNELS * base * mult[0]) * SAFETY


def decoder_bytes_per_output_pixel(cfg: "AutoencoderConfig | None", precision: str = "fp32") -> float:
    """Peak bytes per output pixel of the latent decoder (0 in pixel mode)."""
    if cfg is None:
        return 0.0
    return DTYPE_BYTES[precision] * WORKING_CHANNELS * cfg.base_channels * SAFETY


def tile_bytes(recipe: "Recipe", height: int, width: int, batch: int = 1, precision: str = "fp32") -> float:
    """Estimated peak bytes to super-resolve ``batch`` tiles of ``height x width`` output pixels."""
    autoencoder = recipe.autoencoder if recipe.mode == "latent" else None
    factor = autoencoder.factor if autoencoder is not None else 1
    state_pixels = math.ceil(height / factor) * math.ceil(width / factor)
    per_sample = state_pixels * unet_bytes_per_state_pixel(recipe.network, precision)
    per_sample += height * width * decoder_bytes_per_output_pixel(autoencoder, precision)
    return batch * per_sample


def auto_tile_size(
    recipe: "Recipe", out_height: int, out_width: int, *, batch: int, precision: str, free_bytes: int, on_cpu: bool
) -> int | None:
    """The output tile side for ``--tile auto`` (a multiple of 64), or None when the whole image fits.

    ``free_bytes`` is the free memory of the compute device; on CPU the
    whole-image buffers share it and are subtracted first.
    """
    budget = free_bytes * BUDGET_FRACTION
    if on_cpu:
        budget -= out_height * out_width * IMAGE_BUFFER_BYTES_PER_PIXEL
    if tile_bytes(recipe, out_height, out_width, 1, precision) <= budget:
        return None
    for side in range(MAX_TILE, MIN_TILE, -MIN_TILE):
        if tile_bytes(recipe, side, side, batch, precision) <= budget:
            return side
    return MIN_TILE
