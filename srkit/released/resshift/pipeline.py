"""A converted ResShift model, ready to super-resolve: the official inference procedure.

Official ``ResShiftSampler.sample_func`` (fixtures/official/README.md, ``resshift_sample``):
LR in [-1, 1], reflect-padded at the bottom/right to a multiple of the UNet's build
size; bicubic x``scale`` (``F.interpolate``, no antialias); VQ-encoded (times the
schedule's ``scale_factor``) to ``z_y``; the chain of
:func:`~srkit.released.resshift.sampling.sample_official` with the padded LR as the
UNet's ``lq``; decoded with quantisation; cropped to ``scale`` x the LR; clamped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srkit.diffusion.noise import Noise
from srkit.errors import UsageError
from srkit.io.checkpoints import load_state_into
from srkit.precision import PRECISIONS, precision_autocast
from srkit.released.base import OfficialChop, StepCallback
from srkit.released.resshift.sampling import OfficialSchedule, sample_official
from srkit.released.resshift.unet import SwinUNet, SwinUNetConfig
from srkit.released.resshift.vq import VQConfig, build_vq, vq_decode, vq_encode

#: the official script's chops (``--chop_size 512|256|64`` with ``--chop_stride -1``): LR tile side and the pixels
#: neighbours share; 512 is its default
CHOPS = ((512, 64), (256, 32), (64, 16))
#: peak memory per LR pixel of a whole fp32 run on CPU, process included: 8.17 GB measured at 256x256 LR
#: (``/usr/bin/time -v python benchmarks/released_cpu.py --families resshift-v3 --size 256``), rounded up
BYTES_PER_LR_PIXEL = 125_000


def reflect_pad(x: Tensor, multiple: int) -> Tensor:
    """Pad the bottom and right of ``x`` by reflection up to a multiple of ``multiple``.

    The official code pads once with ``mode="reflect"``; where the padding is not smaller
    than the image (which the official code cannot handle) reflection is repeated.
    """
    height, width = x.shape[-2:]
    need_h, need_w = -height % multiple, -width % multiple
    while need_h or need_w:
        step_h, step_w = min(need_h, x.shape[-2] - 1), min(need_w, x.shape[-1] - 1)
        if (need_h and step_h < 1) or (need_w and step_w < 1):
            x = F.pad(x, (0, need_w, 0, need_h), mode="replicate")  # a 1-pixel side cannot reflect
            break
        x = F.pad(x, (0, step_w, 0, step_h), mode="reflect")
        need_h, need_w = need_h - step_h, need_w - step_w
    return x


class ResShiftPipeline(nn.Module):
    """Swin-UNet + VQGAN-f4 + official schedule; ``super_resolve`` follows the module docstring."""

    def __init__(
        self,
        unet_cfg: SwinUNetConfig,
        vq_cfg: VQConfig,
        schedule: OfficialSchedule,
        *,
        scale: int = 4,
        licence: str = "",
        model_id: str = "in-memory",
        precision: str = "fp32",
    ) -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.unet = SwinUNet(unet_cfg)
        self.vq = build_vq(vq_cfg)
        self.schedule = schedule
        self.process = schedule.process()
        self.scale = int(scale)
        self.latent_factor = vq_cfg.factor
        self.licence = licence
        self.model_id = model_id
        self.precision = precision

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def official_chop(self) -> OfficialChop:
        """``inference_resshift.py``'s default: ``--chop_size 512``, stride ``512 - 64``, both times ``4 // scale``."""
        return self.official_chops[0]

    @property
    def official_chops(self) -> tuple[OfficialChop, ...]:
        """The script's chop sizes, largest (its default) first: ``--chop_size 512|256|64``, stride the size minus 64|32|16."""
        factor = max(1, 4 // self.scale)
        return tuple(OfficialChop(size * factor, (size - overlap) * factor) for size, overlap in CHOPS)

    def official_chop_for(self, height: int, width: int, free_bytes: int) -> OfficialChop:
        """The largest of the script's chops whose tile (or the whole ``height x width`` LR, if smaller) fits in
        ``free_bytes`` by :data:`BYTES_PER_LR_PIXEL` (halved under half-precision autocast on CUDA); the smallest if none."""
        per_pixel = BYTES_PER_LR_PIXEL * (0.5 if self.device.type == "cuda" and self.precision in ("fp16", "bf16") else 1.0)
        for chop in self.official_chops:
            if min(height, chop.size) * min(width, chop.size) * per_pixel <= free_bytes:
                return chop
        return self.official_chops[-1]

    @property
    def lr_multiple(self) -> int:
        """LR sizes are padded to multiples of this (the latent must split into the UNet's windows)."""
        return max(1, self.unet.cfg.pad_multiple * self.latent_factor // self.scale)

    def start_shape(self, lr_shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]:
        """Shape of the start noise (that of ``z_y``) for an LR batch ``(B, 3, h, w)``."""
        batch, _, height, width = lr_shape
        m = self.lr_multiple
        pad_h, pad_w = -(-int(height) // m) * m, -(-int(width) // m) * m
        f = self.scale // self.latent_factor
        return (int(batch), self.unet.cfg.in_channels, pad_h * f, pad_w * f)

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return precision_autocast(self.device, self.precision)

    @torch.no_grad()
    def prepare(self, lq: Tensor) -> tuple[Tensor, Tensor]:
        """LR in [-1, 1] -> (the padded LR the UNet sees, ``z_y``: the encoded bicubic upsampling)."""
        lq = reflect_pad(lq, self.lr_multiple)
        with self._autocast():
            y_up = F.interpolate(lq, scale_factor=self.scale, mode="bicubic")
            z_y = vq_encode(self.vq, y_up).float() * self.schedule.scale_factor
        return lq, z_y

    @torch.no_grad()
    def super_resolve(
        self,
        lr: Tensor,
        *,
        noise: Tensor | None = None,
        generator: Noise | None = None,
        callback: StepCallback | None = None,
    ) -> tuple[Tensor, int]:
        """``lr`` (B, 3, h, w) in [0, 1] -> (``sr`` (B, 3, h*scale, w*scale) in [0, 1], NFE)."""
        if lr.ndim != 4 or lr.shape[1] != 3:
            raise UsageError(f"super_resolve expects an RGB batch (B, 3, h, w), got {tuple(lr.shape)}")
        if noise is not None and tuple(noise.shape) != self.start_shape(lr.shape):
            raise UsageError(f"start noise has shape {tuple(noise.shape)}, this model needs {self.start_shape(lr.shape)}")
        height, width = lr.shape[-2:]
        lq, z_y = self.prepare(lr.to(self.device, torch.float32) * 2.0 - 1.0)
        with self._autocast():

            def unet(x_in: Tensor, t: Tensor) -> Tensor:
                return self.unet(x_in, t, lq).float()

            result = sample_official(unet, self.process, z_y, noise=noise, generator=generator, callback=callback)
            image = vq_decode(self.vq, result.x0 / self.schedule.scale_factor).float()
        image = image[..., : height * self.scale, : width * self.scale].clamp(-1.0, 1.0)
        return (image + 1.0) * 0.5, result.nfe


def pipeline_from_converted(
    tensors: Mapping[str, Tensor],
    config: Mapping[str, Any],
    *,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    licence: str = "",
) -> ResShiftPipeline:
    """Build the pipeline from converted ``unet.*``/``vq.*`` tensors and their config, strictly."""
    pipe = ResShiftPipeline(
        SwinUNetConfig.from_dict(config["unet"]),
        VQConfig.from_dict(config["vq"]),
        OfficialSchedule.from_dict(config["diffusion"]),
        scale=int(config.get("scale", 4)),
        licence=licence,
        precision=precision,
    )
    load_state_into(pipe, tensors, strict=True, source="the converted ResShift checkpoint")
    pipe.to(device).eval()
    for param in pipe.parameters():
        param.requires_grad_(False)
    return pipe
