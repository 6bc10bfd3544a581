"""srkit's Real-ESRGAN degradation against the same pipeline built from BasicSR's own ops, interleaved.

The peer is Real-ESRGAN's ``RealESRGANModel.feed_data`` (second-order degradation)
over kernels drawn as ``RealESRGANDataset.__getitem__`` draws them, calling BasicSR
1.4.2's functions: ``random_mixed_kernels`` / ``circular_lowpass_kernel`` (NumPy,
SciPy), ``filter2D`` and ``USMSharp`` (grouped ``conv2d``), ``random_add_*_noise_pt``
and ``DiffJPEG(differentiable=False)``. BasicSR itself cannot be imported next to
torchvision >= 0.17 (``basicsr/data/degradations.py`` imports the removed
``torchvision.transforms.functional_tensor``), so this script loads the three
modules it needs by file path, with that one name pointed at
``torchvision.transforms.functional`` (same ``rgb_to_grayscale``); only the glue
(the order of calls in ``feed_data``, the kernel draws of the dataset) is written
here, following those files. Pairs per CPU-second, one thread, HR crops in memory,
x4; srkit and the peer alternate batch by batch in one process and the medians of
the per-batch CPU times are reported (the machine is shared: expect noise).

Usage::

    python benchmarks/degrade_vs_basicsr.py [--batches 12] [--batch 16] [--size 256] [--device cpu]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import random
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from srkit.degrade import RandomDegradation
from srkit.degrade.preset import load_preset


def _basicsr_module(relative: str, name: str) -> types.ModuleType:
    """Load ``basicsr/<relative>`` by path without running ``basicsr/__init__.py``."""
    spec = importlib.util.find_spec("basicsr")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("basicsr is not installed (pip install --no-deps basicsr==1.4.2)")
    path = Path(spec.submodule_search_locations[0]) / relative
    sys.modules.setdefault("torchvision.transforms.functional_tensor", TF)
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


class BasicsrPeer:
    """Real-ESRGAN x4plus training degradation (options/train_realesrgan_x4plus.yml) from BasicSR's ops."""

    KERNEL_RANGE = [2 * v + 1 for v in range(3, 11)]
    KERNEL_LIST = ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"]
    KERNEL_PROB = [0.45, 0.25, 0.12, 0.03, 0.12, 0.03]

    def __init__(self, device: torch.device, usm: bool = True) -> None:
        self.deg = _basicsr_module("data/degradations.py", "_peer_degradations")
        self.ipu = _basicsr_module("utils/img_process_util.py", "_peer_img_process_util")
        jpeg = _basicsr_module("utils/diffjpeg.py", "_peer_diffjpeg")
        self.device = device
        self.usm = self.ipu.USMSharp().to(device) if usm else None
        self.jpeger = jpeg.DiffJPEG(differentiable=False).to(device)
        self.pulse = torch.zeros(21, 21)
        self.pulse[10, 10] = 1

    def _blur_kernel(self, sinc_prob: float, sigma: tuple[float, float]) -> torch.Tensor:
        size = random.choice(self.KERNEL_RANGE)
        if np.random.uniform() < sinc_prob:
            omega_c = np.random.uniform(np.pi / 3, np.pi) if size < 13 else np.random.uniform(np.pi / 5, np.pi)
            kernel = self.deg.circular_lowpass_kernel(omega_c, size, pad_to=False)
        else:
            kernel = self.deg.random_mixed_kernels(
                self.KERNEL_LIST, self.KERNEL_PROB, size, sigma, sigma, [-math.pi, math.pi], [0.5, 4], [1, 2],
                noise_range=None,
            )
        pad = (21 - size) // 2
        return torch.FloatTensor(np.pad(kernel, ((pad, pad), (pad, pad))))

    def _kernels(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        k1, k2, sinc = [], [], []
        for _ in range(batch):
            k1.append(self._blur_kernel(0.1, (0.2, 3)))
            k2.append(self._blur_kernel(0.1, (0.2, 1.5)))
            if np.random.uniform() < 0.8:
                size = random.choice(self.KERNEL_RANGE)
                omega_c = np.random.uniform(np.pi / 3, np.pi)
                sinc.append(torch.FloatTensor(self.deg.circular_lowpass_kernel(omega_c, size, pad_to=21)))
            else:
                sinc.append(self.pulse)
        return tuple(torch.stack(k).to(self.device) for k in (k1, k2, sinc))

    def _noise(self, out: torch.Tensor, gaussian: tuple, poisson: tuple) -> torch.Tensor:
        if np.random.uniform() < 0.5:
            return self.deg.random_add_gaussian_noise_pt(out, sigma_range=gaussian, clip=True, rounds=False, gray_prob=0.4)
        return self.deg.random_add_poisson_noise_pt(out, scale_range=poisson, gray_prob=0.4, clip=True, rounds=False)

    def _jpeg(self, out: torch.Tensor) -> torch.Tensor:
        quality = out.new_zeros(out.size(0)).uniform_(30, 95)
        # DiffJPEG returns a cropped view; filter2D's .view needs it contiguous (newer torch pads keep strides)
        return self.jpeger(torch.clamp(out, 0, 1), quality=quality).contiguous()

    def __call__(self, gt: torch.Tensor) -> torch.Tensor:
        """LR (N,3,H/4,W/4) of ``gt``, following ``RealESRGANModel.feed_data``."""
        k1, k2, sinc = self._kernels(gt.shape[0])
        filter2d = self.ipu.filter2D
        h, w = gt.shape[-2:]
        out = self.usm(gt) if self.usm is not None else gt
        out = filter2d(out, k1)
        kind = random.choices(["up", "down", "keep"], [0.2, 0.7, 0.1])[0]
        scale = np.random.uniform(1, 1.5) if kind == "up" else np.random.uniform(0.15, 1) if kind == "down" else 1
        out = F.interpolate(out, scale_factor=scale, mode=random.choice(["area", "bilinear", "bicubic"]))
        out = self._jpeg(self._noise(out, (1, 30), (0.05, 3)))
        if np.random.uniform() < 0.8:
            out = filter2d(out, k2)
        kind = random.choices(["up", "down", "keep"], [0.3, 0.4, 0.3])[0]
        scale = np.random.uniform(1, 1.2) if kind == "up" else np.random.uniform(0.3, 1) if kind == "down" else 1
        mode = random.choice(["area", "bilinear", "bicubic"])
        out = F.interpolate(out, size=(int(h / 4 * scale), int(w / 4 * scale)), mode=mode)
        out = self._noise(out, (1, 25), (0.05, 2.5))
        mode = random.choice(["area", "bilinear", "bicubic"])
        if np.random.uniform() < 0.5:
            out = filter2d(F.interpolate(out, size=(h // 4, w // 4), mode=mode), sinc)
            out = self._jpeg(out)
        else:
            out = self._jpeg(out)
            out = filter2d(F.interpolate(out, size=(h // 4, w // 4), mode=mode), sinc)
        return torch.clamp((out * 255.0).round(), 0, 255) / 255.0


def hr_batch(batch: int, size: int, device: torch.device) -> torch.Tensor:
    """Smooth random RGB crops in [0, 1] (as benchmarks/degrade.py)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=g)
    return F.avg_pool2d(x, 7, 1, 3, count_include_pad=False).to(device)


def _cpu_seconds(call: Callable[[], object], device: torch.device) -> float:
    start = time.process_time()
    call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.process_time() - start


def _wall_seconds(call: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    call()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def compare(batch: int, batches: int, size: int, device: torch.device, usm: bool) -> dict[str, float]:
    """Median pairs per CPU-second (and per wall second) of srkit and the peer, alternating batch by batch."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    preset = load_preset("realesrgan")
    if not usm:
        preset = dataclasses.replace(preset, usm_sharpen=False)
    ours = RandomDegradation(preset, 4, device=device, jpeg_backend="opencv")
    peer = BasicsrPeer(device, usm=usm)
    hr = hr_batch(batch, size, device)
    rng = np.random.default_rng(0)
    runs = {"srkit": lambda: ours(hr, rng), "basicsr": lambda: peer(hr)}
    for call in runs.values():  # warm-up
        call()
    clock = _wall_seconds if device.type == "cuda" else _cpu_seconds
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(batches):
        order = list(runs) if i % 2 == 0 else list(reversed(runs))
        for name in order:
            times[name].append(clock(runs[name], device))
    out = {name: batch / statistics.median(t) for name, t in times.items()}
    out["ratio"] = out["srkit"] / out["basicsr"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)  # srkit's CPU filters are OpenCV's: one thread for both sides
    device = torch.device(args.device)
    unit = "pairs/s (wall, synchronised)" if device.type == "cuda" else "pairs per CPU-second"
    for usm in (True, False):
        r = compare(args.batch, args.batches, args.size, device, usm)
        label = "with USM on the HR" if usm else "without USM"
        print(f"{label:20s} srkit {r['srkit']:7.1f}  basicsr ops {r['basicsr']:7.1f}  {unit}  ratio {r['ratio']:.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
