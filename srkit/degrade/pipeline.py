"""Apply sampled degradation values to HR images: the one place the order of operations lives.

Real-ESRGAN order (``realesrgan_model.py`` ``feed_data``), per pair, with
``H, W`` the HR size and ``s`` the scale:

1. optional USM sharpening of the HR (the sharpened HR is also the pair's HR);
2. first stage: blur -> resize by ``factor`` -> noise -> JPEG;
3. second stage (unless skipped): [blur] -> resize to ``(int(H/s*f), int(W/s*f))`` -> noise;
4. final: [resize to ``(H//s, W//s)`` + sinc, JPEG] or [JPEG, resize + sinc];
5. clamp (and round to 8-bit levels when ``round_output``).

The bicubic kind (and StableSR's "no degradation" draw) is the antialiased
bicubic downscale. The HR-sized work (USM, first blur) is one call per batch
(grouped convolutions on CUDA, OpenCV per plane on the CPU: ``ops.filter2d``);
everything after the first resize is per pair, because each pair has its own
intermediate size.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from srkit.degrade.bicubic import downsample_bicubic
from srkit.degrade.kernels import build_kernel
from srkit.degrade.ops import JpegBackend, add_noise, filter2d, jpeg, quantize_8bit, resize, usm_sharpen
from srkit.degrade.params import DegradationParams, FinalParams, KernelParams, StageParams
from srkit.errors import InputError


class DegradedBatch(NamedTuple):
    """The pairs made by :func:`apply`: ``lr`` (N,C,H/s,W/s) and ``hr`` (USM-sharpened where the preset says so)."""

    lr: torch.Tensor
    hr: torch.Tensor


def kernel_tensor(params: KernelParams, size: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """The float32 kernel of ``params``, zero-padded to ``size`` (which leaves the filtering unchanged)."""
    kernel = torch.from_numpy(build_kernel(params)).float()
    pad = ((size or params.size) - params.size) // 2
    return torch.nn.functional.pad(kernel, (pad, pad, pad, pad)).to(device)


def _identity_kernel(size: int, device: torch.device) -> torch.Tensor:
    kernel = torch.zeros(size, size, device=device)
    kernel[size // 2, size // 2] = 1.0
    return kernel


def _blur_batch(x: torch.Tensor, blurs: Sequence[KernelParams | None]) -> torch.Tensor:
    """Blur each image with its own kernel (None = untouched) in one grouped convolution."""
    if all(b is None for b in blurs):
        return x
    size = max(b.size for b in blurs if b is not None)
    kernels = [_identity_kernel(size, x.device) if b is None else kernel_tensor(b, size, x.device) for b in blurs]
    return filter2d(x, torch.stack(kernels))


def _noise_jpeg(x: torch.Tensor, stage: StageParams, generator: torch.Generator, backend: JpegBackend) -> torch.Tensor:
    x = add_noise(x, stage.noise.kind, stage.noise.strength, stage.noise.gray, generator)
    return jpeg(x, stage.jpeg_quality, backend) if stage.jpeg_quality is not None else x


def _second_stage(
    x: torch.Tensor,
    stage: StageParams,
    hr_size: tuple[int, int],
    scale: int,
    generator: torch.Generator,
    backend: JpegBackend,
) -> torch.Tensor:
    if stage.blur is not None:
        x = filter2d(x, kernel_tensor(stage.blur, device=x.device))
    f = stage.resize.factor
    x = resize(x, stage.resize.mode, size=(int(hr_size[0] / scale * f), int(hr_size[1] / scale * f)))
    return _noise_jpeg(x, stage, generator, backend)


def _final_step(x: torch.Tensor, final: FinalParams, lr_size: tuple[int, int], backend: JpegBackend) -> torch.Tensor:
    def resize_and_sinc(y: torch.Tensor) -> torch.Tensor:
        y = resize(y, final.resize_mode, size=lr_size)
        return y if final.sinc is None else filter2d(y, kernel_tensor(final.sinc, device=y.device))

    if final.jpeg_first:
        return resize_and_sinc(jpeg(x, final.jpeg_quality, backend))
    return jpeg(resize_and_sinc(x), final.jpeg_quality, backend)


def _after_first_blur(
    x: torch.Tensor, p: DegradationParams, hr_size: tuple[int, int], backend: JpegBackend
) -> torch.Tensor:
    """Steps 2 (from the resize on) to 4 for one pair (1,C,H,W)."""
    generator = torch.Generator(device=x.device).manual_seed(p.noise_seed)
    x = resize(x, p.first.resize.mode, factor=p.first.resize.factor)
    x = _noise_jpeg(x, p.first, generator, backend)
    if p.second is not None:
        x = _second_stage(x, p.second, hr_size, p.scale, generator, backend)
    return _final_step(x, p.final, (hr_size[0] // p.scale, hr_size[1] // p.scale), backend)


def _check_inputs(hr: torch.Tensor, params: Sequence[DegradationParams]) -> int:
    if hr.dim() != 4:
        raise InputError(f"expected an NCHW batch, got a tensor of shape {tuple(hr.shape)}")
    if len(params) != hr.shape[0]:
        raise InputError(f"got {hr.shape[0]} images but {len(params)} parameter sets")
    scales = {p.scale for p in params}
    if len(scales) != 1:
        raise InputError(f"one batch must share one scale, got {sorted(scales)}")
    scale = scales.pop()
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise InputError(
            f"HR size {h}x{w} is not a multiple of scale {scale}; crop it first (srkit.degrade.crop_to_multiple)"
        )
    return scale


def _finish(lr: torch.Tensor, p: DegradationParams) -> torch.Tensor:
    return quantize_8bit(lr) if p.round_output else lr.clamp(0, 1)


def apply(
    hr: torch.Tensor,
    params: Sequence[DegradationParams],
    *,
    device: torch.device | str | None = None,
    jpeg_backend: JpegBackend = "opencv",
) -> DegradedBatch:
    """Degrade HR images (N,C,H,W in [0, 1], H and W multiples of the scale) with one param set each.

    Returns LR images of exactly (H/scale, W/scale) in [0, 1] and the HR the LR was
    made from. Deterministic: the same params give the same pixels on the same device.
    """
    scale = _check_inputs(hr, params)
    x = hr.to(device if device is not None else hr.device, torch.float32)
    sharpen = torch.tensor([p.usm_sharpen for p in params], device=x.device).view(-1, 1, 1, 1)
    if bool(sharpen.any()):
        x = torch.where(sharpen, usm_sharpen(x), x)
    h, w = x.shape[-2:]
    simple = [p.kind == "bicubic" or p.no_degradation for p in params]
    blurred = _blur_batch(x, [None if s else p.first.blur for s, p in zip(simple, params, strict=True)])
    lrs = []
    for i, p in enumerate(params):
        one = x[i : i + 1]
        lr = (
            downsample_bicubic(one, scale)
            if simple[i]
            else _after_first_blur(blurred[i : i + 1], p, (h, w), jpeg_backend)
        )
        lrs.append(_finish(lr, p))
    return DegradedBatch(lr=torch.cat(lrs), hr=x)
