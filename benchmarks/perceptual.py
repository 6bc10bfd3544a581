"""Time per image of the package-weight metrics and of Real-ESRGAN x4plus at 128 -> 512 px.

Each metric scores one 512x512 SR image (against a 512x512 HR image when it is
full-reference); Real-ESRGAN upscales one 128x128 LR image to 512x512. One
untimed warm-up call (it also builds the metric, converting weights into the
cache on a first run), then the median of ``--repeats`` timed calls. Build time
(from a warm cache) is reported separately. Usage::

    python benchmarks/perceptual.py                  # print a Markdown table
    python benchmarks/perceptual.py --write          # also replace the section in benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from srkit.metrics.perceptual import learned_score, load_learned_metric
from srkit.pretrained.realesrgan import load_realesrgan_x4plus

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Perceptual metrics and Real-ESRGAN"
METRICS = ("lpips", "lpips_vgg", "dists", "niqe", "brisque")


def _images(size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A smooth-textured HR image, its bicubic LR and the bicubic re-upscaling as the 'SR' image."""
    g = torch.Generator().manual_seed(0)
    hr = F.avg_pool2d(torch.rand(1, 3, size, size, generator=g), 5, 1, 2, count_include_pad=False)
    lr = F.interpolate(hr, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)
    sr = F.interpolate(lr, scale_factor=4, mode="bicubic").clamp(0, 1)
    return hr, lr, sr


def _median_seconds(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall seconds and median process CPU seconds (all threads) of ``repeats`` calls after a warm-up."""
    call()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def _build_seconds(build: Callable[[], object]) -> float:
    start = time.perf_counter()
    build()
    return time.perf_counter() - start


def measure(repeats: int, size: int = 512) -> list[tuple[str, float, tuple[float, float]]]:
    """``(name, build seconds from a warm cache, (wall, CPU) seconds per image)`` for each metric and Real-ESRGAN."""
    hr, lr, sr = _images(size)
    rows = []
    for name in METRICS:
        load_learned_metric(name)  # fills the conversion cache if this is the first run
        load_learned_metric.cache_clear()
        build = _build_seconds(lambda: load_learned_metric(name))
        rows.append((name, build, _median_seconds(lambda: learned_score(name, sr, hr), repeats)))
    load_realesrgan_x4plus(torch.device("cpu"))
    build = _build_seconds(lambda: load_realesrgan_x4plus(torch.device("cpu")))
    model = load_realesrgan_x4plus(torch.device("cpu"))
    rows.append((f"realesrgan x4plus ({size // 4}->{size})", build, _median_seconds(lambda: model.super_resolve(lr), repeats)))
    return rows


def table(rows: list[tuple[str, float, tuple[float, float]]], repeats: int) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        SECTION,
        "",
        f"`python benchmarks/perceptual.py --repeats {repeats}`: seconds per 512x512 image (median of {repeats} calls after "
        "one warm-up; full-reference metrics compare two 512x512 images), Real-ESRGAN x4plus on one 128x128 LR image; "
        "build = loading from the converted cache into a ready metric/network.",
        "",
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}; 1-min load average {load:.1f} when the table was "
        "written (shared machine: wall times are upper bounds; CPU seconds, summed over threads, are the work).",
        "",
        "| metric / model | build (s) | s per image (wall) | CPU s per image |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {build:.2f} | {wall:.3f} | {cpu:.3f} |" for name, build, (wall, cpu) in rows]
    return "\n".join(lines) + "\n"


def _write(section: str) -> None:
    text = RESULTS.read_text()
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("" if end < 0 else text[end:])
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true", help=f"replace '{SECTION}' in {RESULTS.name}")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    section = table(measure(args.repeats), args.repeats)
    print(section)
    if args.write:
        _write(section)


if __name__ == "__main__":
    main()
