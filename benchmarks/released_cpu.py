"""Seconds per image of the released ResShift models on this machine: 64x64 LR -> 256x256, full-size networks.

The weights are random (the official files are not shipped), so only the timing means anything.
Usage: ``python benchmarks/released_cpu.py [--families resshift-v3 resshift-v1] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from srkit.released.registry import FAMILIES
from srkit.released.resshift.pipeline import ResShiftPipeline
from srkit.released.resshift.unet import SwinUNetConfig
from srkit.released.resshift.vq import VQConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--families", nargs="+", default=["resshift-v3"])
    parser.add_argument("--size", type=int, default=64, help="LR side in pixels")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    lr = torch.rand(1, 3, args.size, args.size)
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}, "
          f"load {os.getloadavg()[0]:.1f}")
    for i, name in enumerate(args.families):
        family = FAMILIES[name]
        pipe = ResShiftPipeline(SwinUNetConfig(), VQConfig(), family.schedule, licence=family.licence).eval()
        if i == 0:  # one untimed run first: the first calls of a process set up kernels and allocator
            pipe.super_resolve(lr, generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        cpu = time.process_time()
        sr, nfe = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(0))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"| {name} | {args.size}->{sr.shape[-1]} | {nfe} | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
