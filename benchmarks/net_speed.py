"""Seconds per output megapixel of one network call against input size and execution settings (CPU).

Networks: the built-in UNet (``builtin/dossr``'s, shared by sr3/sr3-dream; pixel mode,
input = output size) and RRDBNet x4 (Real-ESRGAN x4plus size; output = 4 x input).
Variants, interleaved call by call in one process, median of ``--repeats``:

- ``default``: as srkit runs it (UNet channels-last, ``torch.no_grad``), one thread;
- ``inference_mode``: ``torch.inference_mode`` instead of ``no_grad``;
- ``contiguous`` / ``channels_last``: the other memory format;
- ``--wall-threads N``: the default with N intra-op threads (wall time; on a loaded shared
  machine oversubscribed threads can be many times slower than one).

One-thread rows are CPU seconds of this process (robust on a shared machine);
the two-thread row is wall time. Usage::

    python benchmarks/net_speed.py --net unet --sizes 128 256 512 1024
    python benchmarks/net_speed.py --net rrdbnet --sizes 64 128 256
    python benchmarks/net_speed.py --net unet --tiles        # the --tile auto table (default variant only)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from srkit.nets.build import build_network
from srkit.nets.rrdbnet import RRDBNet
from srkit.recipes import load_recipe

TILE_SIDES = (64, 96, 128, 192, 256, 384, 512, 768, 1024)


def unet(channels_last: bool) -> tuple[nn.Module, Callable[[int], tuple[torch.Tensor, ...]], int]:
    cfg = dataclasses.replace(load_recipe("builtin/dossr").network, channels_last=channels_last)
    net = build_network(cfg, seed=0).eval()

    def inputs(size: int) -> tuple[torch.Tensor, ...]:
        x = torch.rand(1, cfg.in_channels, size, size)
        return x, torch.rand(1, cfg.cond_channels, size, size), torch.full((1,), 500.0)

    return net, inputs, 1


def rrdbnet(channels_last: bool) -> tuple[nn.Module, Callable[[int], tuple[torch.Tensor, ...]], int]:
    net = RRDBNet().eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net.to(memory_format=fmt)

    def inputs(size: int) -> tuple[torch.Tensor, ...]:
        return (torch.rand(1, 3, size, size).contiguous(memory_format=fmt),)

    return net, inputs, 4


def _time(net: nn.Module, args: tuple[torch.Tensor, ...], grad_mode, wall: bool) -> float:
    clock = time.perf_counter if wall else time.process_time
    with grad_mode():
        start = clock()
        net(*args)
        return clock() - start


def variants(kind: str, wall_threads: int) -> dict[str, tuple[nn.Module, Callable, int, object, int]]:
    build = unet if kind == "unet" else rrdbnet
    default_cl = kind == "unet"  # what srkit uses today
    (net, inputs, scale), (other, other_inputs, _) = build(default_cl), build(not default_cl)
    other_name = "contiguous" if default_cl else "channels_last"
    table = {
        "default": (net, inputs, scale, torch.no_grad, 1),
        "inference_mode": (net, inputs, scale, torch.inference_mode, 1),
        other_name: (other, other_inputs, scale, torch.no_grad, 1),
    }
    if wall_threads > 1:
        table[f"{wall_threads} threads (wall)"] = (net, inputs, scale, torch.no_grad, wall_threads)
    return table


def measure(
    kind: str, sizes: list[int], repeats: int, only_default: bool = False, wall_threads: int = 0
) -> list[tuple[str, int, float]]:
    """Rows ``(variant, input side, seconds per output megapixel)``."""
    table = variants(kind, wall_threads)
    if only_default:
        table = {"default": table["default"]}
    rows = []
    for size in sizes:
        times: dict[str, list[float]] = {name: [] for name in table}
        for name, (net, inputs, _, mode, threads) in table.items():  # warm-up
            torch.set_num_threads(threads)
            _time(net, inputs(size), mode, threads > 1)
        for _ in range(repeats):
            for name, (net, inputs, _, mode, threads) in table.items():
                torch.set_num_threads(threads)
                times[name].append(_time(net, inputs(size), mode, threads > 1))
        for name, (_, _, scale, _, _) in table.items():
            per_mp = statistics.median(times[name]) / ((size * scale) ** 2 / 1e6)
            rows.append((name, size, per_mp))
            print(f"{kind:8s} {name:18s} in {size:5d}  {per_mp:8.3f} s/MP out", flush=True)
    torch.set_num_threads(1)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", choices=("unet", "rrdbnet"), default="unet")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wall-threads", type=int, default=0, help="add a row with this many threads (wall time)")
    parser.add_argument("--tiles", action="store_true", help=f"default variant at tile sides {TILE_SIDES}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.tiles:
        rows = measure(args.net, list(TILE_SIDES), args.repeats, only_default=True)
        best = min(r[2] for r in rows)
        print("relative cost per output pixel:", {size: round(v / best, 2) for _, size, v in rows})
    else:
        measure(args.net, args.sizes, args.repeats, wall_threads=args.wall_threads)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
