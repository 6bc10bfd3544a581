"""CPU seconds of one default ``srkit upscale`` run, split into its parts, and RRDBNet x4 alone for comparison.

Runs the CLI in this process (``srkit upscale INPUT OUT [options]``) with one torch
thread and reports CPU seconds (robust on a shared machine; wall time is printed too):
``imports`` (srkit, torch, the CLI), ``network calls`` (every forward of the model's
UNet, timed by hooks, with their count and input sizes), and ``rest`` (loading the
weights, reading/writing images, sampler arithmetic, tiling and blending). Then one call
of a randomly initialised RRDBNet x4 (Real-ESRGAN x4plus size: the cost of
``--method realesrgan``, whose weights are not bundled) on the same input. Usage::

    python benchmarks/upscale_parts.py photo128.png [--tile auto] [--method dossr]
"""

from __future__ import annotations

import argparse
import tempfile
import time

CPU0, WALL0 = time.process_time(), time.perf_counter()

import torch

torch.set_num_threads(1)

from srkit.cli.app import app
from srkit.io.images import read_image
from srkit.nets.rrdbnet import RRDBNet
from srkit.nets.unet import ConditionalUNet as UNet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("--tile", default="auto")
    parser.add_argument("--method", default=None)
    args = parser.parse_args()
    imports = time.process_time() - CPU0
    calls: list[tuple[tuple[int, ...], float]] = []
    original = UNet.forward

    def timed(self, x, y, t):
        start = time.process_time()
        out = original(self, x, y, t)
        calls.append((tuple(x.shape), time.process_time() - start))
        return out

    UNet.forward = timed
    cpu, wall = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        argv = ["upscale", args.input, out, "--tile", args.tile] + (["--method", args.method] if args.method else [])
        app(argv, standalone_mode=False)
    total, total_wall = time.process_time() - cpu, time.perf_counter() - wall
    network = sum(s for _, s in calls)
    shapes = sorted({shape for shape, _ in calls})
    print(f"imports            {imports:8.2f} CPU s")
    print(f"network calls      {network:8.2f} CPU s  ({len(calls)} calls, inputs {shapes})")
    print(f"rest               {total - network:8.2f} CPU s  (weights, image I/O, sampler, tiles, blending)")
    print(f"upscale total      {total:8.2f} CPU s  ({total_wall:.1f} s wall, {time.perf_counter() - WALL0:.1f} s with imports)")
    image = read_image(args.input)
    lr = torch.rand(1, 3, image.height, image.width)
    net = RRDBNet().eval()
    with torch.inference_mode():
        start = time.process_time()
        net(lr)
        print(f"RRDBNet x4 (one call, {image.width}x{image.height} input) {time.process_time() - start:8.2f} CPU s")


if __name__ == "__main__":
    main()
