"""The torch operations of the Real-ESRGAN degradation, on NCHW float tensors in [0, 1].

Each op matches its BasicSR / Real-ESRGAN counterpart (cited per function) and
runs on whatever device its input is on, except the OpenCV JPEG backend, which
round-trips through host memory. Randomness comes from an explicit
``torch.Generator`` on the input's device.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from srkit.errors import InputError

JpegBackend = Literal["opencv", "torchvision"]

# BasicSR USMSharp defaults (basicsr/utils/img_process_util.py): radius 50 -> kernel size 51, sigma 0,
# weight 0.5, threshold 10.
USM_KERNEL_SIZE = 51
USM_WEIGHT = 0.5
USM_THRESHOLD = 10.0
# torchvision rgb_to_grayscale weights, used by BasicSR generate_poisson_noise_pt for grey noise.
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)


def _pad(x: torch.Tensor, pad_h: int, pad_w: int) -> torch.Tensor:
    """Reflect padding (BasicSR ``filter2D``) per axis; replicate on an axis too short to reflect."""
    for pad, size, spec in ((pad_w, x.shape[-1], (pad_w, pad_w, 0, 0)), (pad_h, x.shape[-2], (0, 0, pad_h, pad_h))):
        if pad:
            x = F.pad(x, spec, mode="reflect" if pad < size else "replicate")
    return x


def _opencv_ready(x: torch.Tensor, radius: int) -> bool:
    """True where OpenCV can filter ``x`` exactly as :func:`_pad` + convolution would.

    CPU float32 without autograd, and every side longer than the radius (OpenCV's
    ``BORDER_REFLECT_101`` is torch's ``reflect``; shorter sides need :func:`_pad`'s
    replicate fallback).
    """
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not (x.requires_grad and torch.is_grad_enabled())
        and radius < min(x.shape[-2:])
    )


def _trim_zero_border(kernel: np.ndarray) -> np.ndarray:
    """``kernel`` (k,k) without the all-zero rings around it (a batch pads kernels to one size)."""
    centre = kernel.shape[-1] // 2
    nonzero = np.argwhere(kernel != 0)
    r = int(np.abs(nonzero - centre).max()) if nonzero.size else 0
    return np.ascontiguousarray(kernel[centre - r : centre + r + 1, centre - r : centre + r + 1])


_RANK_TOLERANCE = 1e-7  # singular values below this fraction of the largest are float32 rounding
_DFT_FROM = 13  # OpenCV filter2D switches to a (slower, here) DFT from this kernel side on


def _opencv_plan(kernel: np.ndarray) -> np.ndarray | list[tuple[np.ndarray, np.ndarray]]:
    """How OpenCV filters with ``kernel``: the trimmed 2-D kernel, or its separable terms if cheaper.

    The terms are the SVD ``K = sum_i s_i u_i v_i^T`` truncated where ``s_i`` falls
    below ``1e-7 s_0`` (exact to float32 rounding): a Gaussian is one term, rotated
    and plateau kernels a few. Separable passes cost about ``2k`` per pixel and term,
    a direct 2-D one ``k^2`` (and OpenCV's DFT path, used from 13x13, much more).
    """
    kernel = _trim_zero_border(kernel)
    k = kernel.shape[0]
    if k == 1:
        return kernel
    u, s, vt = np.linalg.svd(kernel.astype(np.float64))
    rank = int((s > _RANK_TOLERANCE * s[0]).sum())
    if (rank * 2 * k >= k * k) if k < _DFT_FROM else rank > 8:
        return kernel
    return [
        ((u[:, i] * s[i]).astype(np.float32), np.ascontiguousarray(vt[i]).astype(np.float32)) for i in range(rank)
    ]


def _planes_opencv(x: torch.Tensor, filter_plane: Callable[[np.ndarray, int, np.ndarray], None]) -> torch.Tensor:
    """Apply ``filter_plane(src_plane, index, dst_plane)`` to every (image, channel) plane of CPU ``x``."""
    src = x.detach().contiguous().numpy()
    out = np.empty_like(src)
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            filter_plane(src[i, j], i, out[i, j])
    return torch.from_numpy(out)


def filter2d(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Correlate each image of ``x`` (B,C,H,W) with its own odd kernel (B,k,k), or one kernel (k,k) for all.

    BasicSR ``filter2D``: reflect padding by ``k // 2``, then a grouped convolution
    (one group per image channel). All srkit kernels are point-symmetric, so
    correlation equals convolution. On the CPU the same sums come from OpenCV's
    ``filter2D`` (``BORDER_REFLECT_101``, DFT-based for large kernels; equal to the
    convolution to float32 rounding), 2-4x faster than oneDNN's grouped convolution,
    which also re-plans for every new image size.
    """
    b, c, h, w = x.shape
    if kernels.dim() == 2:
        kernels = kernels.expand(b, *kernels.shape)
    k = kernels.shape[-1]
    if k % 2 == 0 or kernels.shape[-2] != k or kernels.shape[0] != b:
        raise InputError(f"filter2d needs one odd square kernel per image, got kernels of shape {tuple(kernels.shape)}")
    if _opencv_ready(x, k // 2):
        plans = [_opencv_plan(t) for t in kernels.detach().to("cpu", torch.float32).numpy()]

        def plane(src: np.ndarray, i: int, dst: np.ndarray) -> None:
            taps = plans[i]
            if isinstance(taps, np.ndarray):
                cv2.filter2D(src, -1, taps, dst=dst, borderType=cv2.BORDER_REFLECT_101)
                return
            cv2.sepFilter2D(src, -1, taps[0][1], taps[0][0], dst=dst, borderType=cv2.BORDER_REFLECT_101)
            for column, row in taps[1:]:
                dst += cv2.sepFilter2D(src, -1, row, column, borderType=cv2.BORDER_REFLECT_101)

        return _planes_opencv(x, plane)
    return filter2d_conv(x, kernels)


def filter2d_conv(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """:func:`filter2d` as one grouped ``conv2d`` (any device; ``kernels`` (B,k,k)), BasicSR's way."""
    b, c, h, w = x.shape
    k = kernels.shape[-1]
    padded = _pad(x, k // 2, k // 2)
    weight = kernels.to(x.dtype).repeat_interleave(c, dim=0).unsqueeze(1)
    out = F.conv2d(padded.reshape(1, b * c, *padded.shape[-2:]), weight, groups=b * c)
    return out.view(b, c, h, w)


def opencv_gaussian_taps(size: int, sigma: float = 0.0) -> np.ndarray:
    """1-D Gaussian taps as ``cv2.getGaussianKernel(size, sigma)``: sigma <= 0 means ``0.3((size-1)/2 - 1) + 0.8``."""
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    taps = np.exp(-(offsets**2) / (2 * sigma**2))
    return taps / taps.sum()


_BLOCK = 128  # output columns per matrix product in _correlate_rows


def _correlate_rows(x: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """Correlate every row of ``x`` with the odd 1-D ``taps`` after :func:`_pad`-style padding.

    Computed as products of ``_BLOCK``-column slices with one banded (Toeplitz)
    matrix, the same sums as a 1-D convolution but at matrix-multiply speed
    (a 51-tap ``conv2d`` is an order of magnitude slower on the CPU).
    """
    r, n = taps.size // 2, x.shape[-1]
    padded = _pad(x, 0, r)
    band = np.zeros((_BLOCK + 2 * r, _BLOCK))
    for i in range(_BLOCK):
        band[i : i + 2 * r + 1, i] = taps
    band = torch.from_numpy(band).to(x.device, x.dtype)
    pieces = []
    for start in range(0, n, _BLOCK):
        width = min(_BLOCK, n - start)
        pieces.append(padded[..., start : start + width + 2 * r] @ band[: width + 2 * r, :width])
    return torch.cat(pieces, dim=-1)


def _separable_blur(x: torch.Tensor, taps: np.ndarray) -> torch.Tensor:
    """``x`` filtered by the outer product ``taps taps^T`` (rows, then columns).

    On the CPU: OpenCV ``sepFilter2D`` per plane (``BORDER_REFLECT_101``), about 5x
    faster than the banded products; elsewhere :func:`_correlate_rows` twice.
    """
    if _opencv_ready(x, taps.size // 2):
        taps32 = taps.astype(np.float32)

        def plane(src: np.ndarray, _: int, dst: np.ndarray) -> None:
            cv2.sepFilter2D(src, -1, taps32, taps32, dst=dst, borderType=cv2.BORDER_REFLECT_101)

        return _planes_opencv(x, plane)
    return _correlate_rows(_correlate_rows(x, taps).transpose(-1, -2), taps).transpose(-1, -2)


def usm_sharpen(
    x: torch.Tensor, weight: float = USM_WEIGHT, kernel_size: int = USM_KERNEL_SIZE, threshold: float = USM_THRESHOLD
) -> torch.Tensor:
    """Unsharp mask of BasicSR ``USMSharp``: ``K = clip(I + w (I - B))``, ``out = m K + (1 - m) I``.

    ``B`` is ``I`` blurred by the OpenCV Gaussian of size ``kernel_size`` (sigma from size),
    and ``m`` the same blur of the mask ``|I - B| * 255 > threshold``.
    """
    taps = opencv_gaussian_taps(kernel_size)
    residual = x - _separable_blur(x, taps)
    mask = _separable_blur((residual.abs() * 255 > threshold).to(x.dtype), taps)
    sharp = (x + weight * residual).clamp(0, 1)
    return mask * sharp + (1 - mask) * x


def resize(
    x: torch.Tensor, mode: str, *, size: tuple[int, int] | None = None, factor: float | None = None
) -> torch.Tensor:
    """``F.interpolate`` to ``size`` or by ``factor`` (output ``floor(H * factor)``), as Real-ESRGAN calls it.

    No antialiasing (``area`` averages when shrinking); ``align_corners=False``;
    every output side is at least one pixel.
    """
    corners = None if mode == "area" else False
    if size is None:
        size = (math.floor(x.shape[-2] * factor), math.floor(x.shape[-1] * factor))
        if min(size) >= 1:
            return F.interpolate(x, scale_factor=factor, mode=mode, align_corners=corners)
    return F.interpolate(x, size=(max(1, size[0]), max(1, size[1])), mode=mode, align_corners=corners)


def gaussian_noise(x: torch.Tensor, sigma: float, gray: bool, generator: torch.Generator) -> torch.Tensor:
    """Noise ``N(0, (sigma/255)^2)`` shaped like ``x``, one channel repeated when ``gray``.

    BasicSR ``generate_gaussian_noise_pt``.
    """
    b, c, h, w = x.shape
    shape = (b, 1, h, w) if gray else (b, c, h, w)
    noise = torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype) * (sigma / 255.0)
    return noise.expand(b, c, h, w) if gray else noise


def _levels(codes: torch.Tensor) -> torch.Tensor:
    """``2^ceil(log2(#distinct values))`` per image of 8-bit ``codes`` (integers 0..255), shape (B,1,1,1)."""
    counts = [int(torch.bincount(codes[i].flatten(), minlength=256).count_nonzero()) for i in range(codes.shape[0])]
    return torch.tensor([2.0 ** math.ceil(math.log2(n)) for n in counts], device=codes.device).view(-1, 1, 1, 1)


def poisson_noise(x: torch.Tensor, scale: float, gray: bool, generator: torch.Generator) -> torch.Tensor:
    """Shot noise of BasicSR ``generate_poisson_noise_pt``: ``scale * (Poisson(v L) / L - v)``.

    ``v`` is the image (its luma when ``gray``) rounded to 8-bit levels and ``L``
    ``2^ceil(log2(#distinct values of v))``, so the noise variance is ``scale^2 v / L``.
    """
    b, c, h, w = x.shape
    base = x
    if gray:
        weights = torch.tensor(GRAY_WEIGHTS, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        base = (x * weights).sum(dim=1, keepdim=True)
    codes = (base * 255.0).round().clamp(0, 255)
    base = codes / 255.0
    levels = _levels(codes.long()).to(x.dtype)
    noise = torch.poisson(base * levels, generator=generator) / levels - base
    return (noise * scale).expand(b, c, h, w)


def add_noise(x: torch.Tensor, kind: str, strength: float, gray: bool, generator: torch.Generator) -> torch.Tensor:
    """``clip(x + noise, 0, 1)`` with Gaussian (sigma in 8-bit levels) or Poisson (scale) noise; no rounding."""
    make = gaussian_noise if kind == "gaussian" else poisson_noise
    return (x + make(x, strength, gray, generator)).clamp(0, 1)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] float -> uint8 by rounding (values outside [0, 1] saturate)."""
    return (x.clamp(0, 1) * 255.0).round().to(torch.uint8)


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """``clamp(round(255 x), 0, 255) / 255``: Real-ESRGAN's final "clamp and round"."""
    return (x * 255.0).round().clamp(0, 255) / 255.0


def encode_jpeg_bytes(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB uint8 HWC array from OpenCV (libjpeg, 4:2:0 chroma), integer ``quality``."""
    ok, data = cv2.imencode(
        ".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)]
    )
    if not ok:
        raise InputError(f"OpenCV could not JPEG-encode an image of shape {rgb.shape}")
    return data.tobytes()


def decode_jpeg_bytes(data: bytes) -> np.ndarray:
    """RGB uint8 HWC array from JPEG bytes (OpenCV)."""
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _jpeg_opencv(image: torch.Tensor, quality: int) -> torch.Tensor:
    rgb = image.permute(1, 2, 0).cpu().numpy()
    decoded = decode_jpeg_bytes(encode_jpeg_bytes(rgb, quality))
    return torch.from_numpy(decoded).permute(2, 0, 1).to(image.device)


def _jpeg_torchvision(image: torch.Tensor, quality: int) -> torch.Tensor:
    from torchvision.io import decode_jpeg, encode_jpeg

    with warnings.catch_warnings():  # torchvision 0.29 deprecates its codecs in favour of TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        data = encode_jpeg(image, quality=int(quality))
        return decode_jpeg(data.cpu(), device=image.device)


def jpeg(x: torch.Tensor, quality: int, backend: JpegBackend = "opencv") -> torch.Tensor:
    """Clamp to [0, 1], quantise to uint8, JPEG encode + decode at integer ``quality``, back to [0, 1].

    Real-ESRGAN simulates this with DiffJPEG; srkit uses a real codec: OpenCV on the
    host (default, any device) or torchvision's ``encode_jpeg``/``decode_jpeg``
    (nvJPEG on CUDA). Needs 3 channels.
    """
    if x.shape[1] != 3:
        raise InputError(f"JPEG compression needs RGB images (3 channels), got {x.shape[1]}")
    codec = _jpeg_opencv if backend == "opencv" else _jpeg_torchvision
    u8 = to_uint8(x)
    out = torch.stack([codec(u8[i], quality) for i in range(u8.shape[0])])
    return out.to(x.dtype) / 255.0
