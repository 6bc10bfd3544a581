"""CPU seconds of one default ``srkit upscale`` run, split into its parts.

Runs the CLI in this process (``srkit upscale INPUT OUT [options]``) with one torch
thread (``--threads``) and reports CPU seconds (robust on a shared machine; wall time
is printed too): ``imports`` (srkit, torch, the CLI), ``preprocessor`` (every
RRDBNet forward: the built-in dossr's Real-ESRGAN x4plus stage), ``network calls``
(every forward of the model's UNet, timed by hooks, with their count and input
sizes), ``colour fix`` (the wavelet/AdaIN fix against the condition image), and
``rest`` (loading the weights, reading/writing images, sampler arithmetic, tiling
and blending). Usage::

    python benchmarks/upscale_parts.py photo128.png [--tile auto] [--method dossr] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

CPU0, WALL0 = time.process_time(), time.perf_counter()

import torch

from srkit.cli.app import app
from srkit.model import color_fix as color_fix_module
from srkit.nets.rrdbnet import RRDBNet
from srkit.nets.unet import ConditionalUNet as UNet


def timed_calls(owner, name: str, calls: list[tuple[tuple[int, ...], float]]) -> None:
    """Replace ``owner.name`` by a wrapper that appends (first argument's shape, CPU seconds) to ``calls``."""
    original = getattr(owner, name) if not isinstance(owner, dict) else owner[name]

    def timed(*args, **kwargs):
        start = time.process_time()
        out = original(*args, **kwargs)
        tensor = next(a for a in args if isinstance(a, torch.Tensor))
        calls.append((tuple(tensor.shape), time.process_time() - start))
        return out

    if isinstance(owner, dict):
        owner[name] = timed
    else:
        setattr(owner, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("--tile", default="auto")
    parser.add_argument("--method", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    imports = time.process_time() - CPU0
    unet: list = []
    rrdb: list = []
    fixes: list = []
    timed_calls(UNet, "forward", unet)
    timed_calls(RRDBNet, "forward", rrdb)
    for name in ("wavelet", "adain"):
        timed_calls(color_fix_module.COLOR_FIXES, name, fixes)
    cpu, wall = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        argv = ["upscale", args.input, out, "--tile", args.tile, "--quiet"] + (["--method", args.method] if args.method else [])
        app(argv, standalone_mode=False)
    total, total_wall = time.process_time() - cpu, time.perf_counter() - wall
    parts = {name: sum(s for _, s in calls) for name, calls in (("preprocessor", rrdb), ("network", unet), ("fix", fixes))}
    print(f"imports            {imports:8.2f} CPU s")
    print(f"preprocessor       {parts['preprocessor']:8.2f} CPU s  ({len(rrdb)} RRDBNet calls, inputs {sorted({s for s, _ in rrdb})})")
    print(f"network calls      {parts['network']:8.2f} CPU s  ({len(unet)} calls, inputs {sorted({s for s, _ in unet})})")
    print(f"colour fix         {parts['fix']:8.2f} CPU s  ({len(fixes)} calls)")
    rest = total - sum(parts.values())
    print(f"rest               {rest:8.2f} CPU s  (weights, image I/O, sampler, tiles, blending)")
    print(f"upscale total      {total:8.2f} CPU s  ({total_wall:.1f} s wall with {args.threads} thread(s), "
          f"{time.perf_counter() - WALL0:.1f} s with imports)")


if __name__ == "__main__":
    main()
