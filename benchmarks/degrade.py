"""Degradation throughput: pairs per second for 256x256 HR crops at x4, per preset and device.

Times the training path (``RandomDegradation`` on batches of HR crops already in
memory: sampling + all pixel work, JPEG through OpenCV) on the CPU and, when
CUDA is present, on the GPU (OpenCV and nvJPEG JPEG backends). Image reading and
PNG writing are not included. Usage::

    python benchmarks/degrade.py                 # print a Markdown table
    python benchmarks/degrade.py --write         # also replace "## Degradation" in benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torchvision

from srkit.degrade import RandomDegradation, list_presets

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Degradation"


def _hr_batch(batch: int, size: int, device: torch.device) -> torch.Tensor:
    """Smooth random RGB crops in [0, 1] (texture like a photo's, so JPEG and Poisson do real work)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=g)
    return torch.nn.functional.avg_pool2d(x, 7, 1, 3, count_include_pad=False).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pairs_per_second(
    preset: str, device: torch.device, jpeg_backend: str, *, batch: int, batches: int, size: int
) -> tuple[float, float]:
    """Pairs per wall-clock second and per CPU second of this process, after one warm-up batch.

    The CPU-time rate is the robust one on a machine shared with other jobs.
    """
    degrade = RandomDegradation(preset, 4, device=device, jpeg_backend=jpeg_backend)
    hr = _hr_batch(batch, size, device)
    rng = np.random.default_rng(0)
    degrade(hr, rng)
    _sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        degrade(hr, rng)
    _sync(device)
    pairs = batch * batches
    return pairs / (time.perf_counter() - wall), pairs / (time.process_time() - cpu)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line describing where the numbers come from."""
    cpu = _cpu_name()
    parts = [
        f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__} ({torch.get_num_threads()} threads)",
        f"torchvision {torchvision.__version__}, OpenCV {cv2.__version__}, Python {platform.python_version()}",
    ]
    if torch.cuda.is_available():
        parts.append(f"GPU {torch.cuda.get_device_name(0)}")
    else:
        parts.append("no CUDA device (run this script on a GPU machine to add CUDA rows)")
    if hasattr(os, "getloadavg"):
        parts.append(f"1-min load average {os.getloadavg()[0]:.1f} when the table was written (shared machine)")
    return "; ".join(parts)


Row = tuple[str, str, str, float, float]


def run(batch: int, batches: int, size: int) -> list[Row]:
    rows = []
    targets = [(torch.device("cpu"), "opencv")]
    if torch.cuda.is_available():
        targets += [(torch.device("cuda"), "opencv"), (torch.device("cuda"), "torchvision")]
    for device, backend in targets:
        for preset in list_presets():
            wall, cpu = pairs_per_second(preset, device, backend, batch=batch, batches=batches, size=size)
            rows.append((preset, device.type, backend, wall, cpu))
            print(
                f"{preset:10s} {device.type:5s} {backend:11s} {wall:8.1f} pairs/s  {cpu:8.1f} pairs/CPU-s", flush=True
            )
    return rows


def markdown(rows: list[Row], batch: int, batches: int, size: int) -> str:
    lines = [
        SECTION,
        "",
        f"`python benchmarks/degrade.py`: pairs per second, {size}x{size} HR crops at x4, batches of {batch} "
        f"({batch * batches} pairs timed after one warm-up batch), in-memory training path "
        "(`RandomDegradation`: sampling, USM, blur, resize, noise, JPEG; no file I/O).",
        "",
        f"Machine: {machine()}.",
        "",
        "| preset | device | JPEG backend | pairs/s (wall) | pairs per CPU-second |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    lines += [f"| {p} | {d} | {b} | {wall:.1f} | {cpu:.1f} |" for p, d, b, wall, cpu in rows]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md, leaving other sections alone."""
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = old.find(SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + (old[end:] if end >= 0 else "")
    RESULTS.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's own)")
    parser.add_argument("--write", action="store_true", help=f"write the table into {RESULTS}")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)  # srkit's CPU filters and JPEG are OpenCV's
    rows = run(args.batch, args.batches, args.size)
    text = markdown(rows, args.batch, args.batches, args.size)
    print("\n" + text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
