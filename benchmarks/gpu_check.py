"""GPU check: network latency, training steps/s and degradation pairs/s on one CUDA device, written as JSON.

Sections (run in the order unet, train, degrade, sd, each timed against one overall
``--budget``; the JSON is rewritten after every section, so a run cut short keeps what
it measured):

1. ``unet``: per-call latency of the paper-size UNet (``recipes/sr3.yaml`` pixel mode at a
   256x256 output, ``recipes/resshift.yaml`` latent mode at 64x64 latents) in fp32, bf16
   autocast, and bf16 + ``torch.compile``;
2. ``sd``: diffusers ``UNet2DConditionModel`` at Stable Diffusion 2.1 size (865M parameters,
   random weights, 64x64 latents, 77x1024 text states) alone and with a ``ControlNetModel``
   made from it (its residuals fed to the UNet), fp32 / bf16 / bf16 compiled;
3. ``train``: optimisation steps per second of the paper-size recipes (sr3, resshift, dossr,
   ccsr stage 1) with their crop and batch size and on-the-fly degradation on the device,
   fp32 and bf16 (latent recipes get a randomly initialised frozen autoencoder: speed does
   not depend on its weights);
4. ``degrade``: Real-ESRGAN degradation pairs/s (batch 16, 256x256 HR, x4) of srkit with the
   OpenCV and nvJPEG JPEG backends, and of the BasicSR-ops peer of
   ``benchmarks/degrade_vs_basicsr.py``.

``--tiny`` shrinks every network and size so that the whole check runs on a CPU in
seconds (``tests/bench/test_gpu_check.py``, a slow test); the numbers are then only a
smoke test. Usage::

    benchmarks/gpu.sh out.json                          # on a CUDA machine, < 8 minutes
    python benchmarks/gpu_check.py --tiny --device cpu --out /tmp/gpu.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srkit.degrade import RandomDegradation
from srkit.nets.build import build_network
from srkit.nets.config import unet_preset
from srkit.recipes import load_recipe
from srkit.train.data import TrainBatch
from srkit.train.optim import Updater, build_optimizer
from srkit.train.tasks import build_task
from srkit.train.tasks import diffusion as diffusion_task
from srkit.train.tasks.base import freeze

sys.path.insert(0, str(Path(__file__).resolve().parent))
from degrade_vs_basicsr import BasicsrPeer, hr_batch

PRECISIONS = ("fp32", "bf16", "bf16+compile")
COMPILE_NEEDS_S = 120  # a compile row starts only with this much budget left


def _no_save() -> None:
    pass


SAVE: Callable[[], None] = _no_save  # main() points this at "rewrite the JSON"


class Budget:
    """Seconds left of the overall budget; sections are skipped once it is spent."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(precision: str, device: torch.device):
    if precision.startswith("bf16"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def latency(call: Callable[[], Any], device: torch.device, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median and minimum seconds of ``call`` after ``warmup`` calls (the first call's time reported too)."""
    start = time.perf_counter()
    call()
    _sync(device)
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        call()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        _sync(device)
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "first_call_s": first}


def _precision_rows(make: Callable[[], tuple[torch.nn.Module, Callable[[torch.nn.Module], Any]]],
                    device: torch.device, repeats: int, budget: Budget, compile_ok: bool,
                    rows: dict[str, Any]) -> dict[str, Any]:
    """Fill ``rows`` (in place, saving after each) with the latency of every precision."""
    module, run = make()
    for precision in PRECISIONS:
        compiled = precision.endswith("compile")
        if budget.left() < (COMPILE_NEEDS_S if compiled else 30):
            rows[precision] = "skipped: budget spent"
        elif compiled and not compile_ok:
            rows[precision] = "skipped: --no-compile"
        else:
            net = torch.compile(module) if compiled else module
            try:
                with torch.inference_mode(), _autocast(precision, device):
                    rows[precision] = latency(lambda: run(net), device, repeats)
            except Exception as err:
                rows[precision] = f"error: {type(err).__name__}: {err}"
        SAVE()
    return rows


def section_unet(device: torch.device, tiny: bool, repeats: int, budget: Budget, compile_ok: bool,
                 out: dict[str, Any]) -> dict[str, Any]:
    for name in ("sr3", "resshift"):
        recipe = load_recipe(name)
        cfg = recipe.network
        latent = recipe.mode == "latent"
        side = (16 if tiny else 64) if latent else (32 if tiny else 256)
        if tiny:
            cfg = unet_preset("tiny", in_channels=cfg.in_channels, cond_channels=cfg.cond_channels,
                              out_channels=cfg.out_channels)

        def make(cfg=cfg, side=side):
            net = build_network(cfg, seed=0).to(device).eval()
            x = torch.randn(1, cfg.in_channels, side, side, device=device)
            y = torch.randn(1, cfg.cond_channels, side, side, device=device)
            t = torch.full((1,), 500.0, device=device)
            return net, lambda n: n(x, y, t)

        params = sum(p.numel() for p in build_network(cfg).parameters())
        out[name] = {"mode": recipe.mode, "input_side": side, "params": params}
        _precision_rows(make, device, repeats, budget, compile_ok, out[name])
    return out


def _sd_configs(tiny: bool) -> dict[str, Any]:
    if tiny:
        return dict(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
                    block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                    attention_head_dim=8, norm_num_groups=8, use_linear_projection=True)
    # Stable Diffusion 2.1 (stabilityai/stable-diffusion-2-1 unet/config.json)
    return dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                block_out_channels=(320, 640, 1280, 1280),
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=1024,
                attention_head_dim=(5, 10, 20, 20), use_linear_projection=True)


def section_sd(device: torch.device, tiny: bool, repeats: int, budget: Budget, compile_ok: bool,
               out: dict[str, Any]) -> dict[str, Any]:
    from diffusers import ControlNetModel, UNet2DConditionModel

    config = _sd_configs(tiny)
    side, tokens, width = config["sample_size"], 77, config["cross_attention_dim"]
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**config).to(device).eval()
    controlnet = ControlNetModel.from_unet(unet).to(device).eval()
    x = torch.randn(1, 4, side, side, device=device)
    text = torch.randn(1, tokens, width, device=device)
    hint = torch.rand(1, 3, side * 8, side * 8, device=device)
    t = torch.full((1,), 500, device=device)

    def unet_call(net):
        return net(x, t, encoder_hidden_states=text).sample

    def both_call(pair):
        cn, un = pair
        down, mid = cn(x, t, encoder_hidden_states=text, controlnet_cond=hint, return_dict=False)
        return un(x, t, encoder_hidden_states=text, down_block_additional_residuals=down,
                  mid_block_additional_residual=mid).sample

    class Pair(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cn, self.un = controlnet, unet

        def forward(self):
            return both_call((self.cn, self.un))

    params = {"unet": sum(p.numel() for p in unet.parameters()),
              "controlnet": sum(p.numel() for p in controlnet.parameters())}
    out.update({"latent_side": side, "params": params, "unet": {}, "controlnet+unet": {}})
    _precision_rows(lambda: (unet, unet_call), device, repeats, budget, compile_ok, out["unet"])
    _precision_rows(lambda: (Pair(), lambda n: n()), device, repeats, budget, compile_ok, out["controlnet+unet"])
    return out


def _random_autoencoder(recipe, device):
    """Stand-in for ``load_frozen_autoencoder``: the recipe's autoencoder with random weights (same cost)."""
    return freeze(build_network(recipe.autoencoder, seed=0).to(device))


def _train_recipe(name: str, tiny: bool):
    recipe = load_recipe(name)
    if not tiny:
        return recipe
    cfg = recipe.network
    network = unet_preset("tiny", in_channels=cfg.in_channels, cond_channels=cfg.cond_channels,
                          out_channels=cfg.out_channels)
    return dataclasses.replace(recipe, network=network, data=dataclasses.replace(recipe.data, crop=32),
                               train=dataclasses.replace(recipe.train, batch_size=2))


def steps_per_second(name: str, device: torch.device, tiny: bool, precision: str, steps: int) -> dict[str, Any]:
    """Training steps/s of recipe ``name`` (stage 1) on random HR crops, LR degraded on ``device`` each step."""
    recipe = _train_recipe(name, tiny)
    task = build_task(recipe, stage=1, init=None, device=device, seed=0)
    task.set_runners(dict(task.trainables))
    lrs = task.learning_rates()
    optimizers = {n: build_optimizer(m.parameters(), recipe.train, lrs[n]) for n, m in task.trainables.items()}
    updater = Updater(optimizers, lrs, recipe.train.grad_clip, 0, None)
    degrade = RandomDegradation(recipe.data.degradation, recipe.scale, device, jpeg_backend="opencv")
    crop, batch = recipe.data.crop, recipe.train.batch_size
    hr = hr_batch(batch, crop + 2 * task.crop_margin, device)  # a preprocessor's context margin, as training draws it
    rng = np.random.default_rng(0)
    generator = torch.Generator(device=device).manual_seed(0)

    def step(i: int) -> None:
        pairs = degrade(hr, rng)
        with _autocast(precision, device):
            loss, _ = task.loss(TrainBatch(hr=pairs.hr, lr=pairs.lr), i, generator)
        updater.backward(loss)
        updater.step(i)

    step(0)
    step(1)
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i + 2)
    _sync(device)
    seconds = time.perf_counter() - start
    params = sum(p.numel() for m in task.trainables.values() for p in m.parameters())
    return {"steps_per_s": steps / seconds, "crop": crop, "batch": batch, "params": params, "mode": recipe.mode}


def section_train(device: torch.device, tiny: bool, steps: int, budget: Budget, out: dict[str, Any]) -> dict[str, Any]:
    original = diffusion_task.load_frozen_autoencoder
    diffusion_task.load_frozen_autoencoder = _random_autoencoder
    try:
        for name in ("sr3", "resshift", "dossr", "ccsr"):
            out[name] = {}
            for precision in ("fp32", "bf16"):
                if budget.left() < 40:
                    out[name][precision] = "skipped: budget spent"
                    continue
                try:
                    out[name][precision] = steps_per_second(name, device, tiny, precision, steps)
                except Exception as err:  # one recipe failing must not lose the others
                    out[name][precision] = f"error: {type(err).__name__}: {err}"
                SAVE()
    finally:
        diffusion_task.load_frozen_autoencoder = original
    return out


def section_degrade(device: torch.device, tiny: bool, batches: int, budget: Budget, out: dict[str, Any]) -> dict[str, Any]:
    batch, size = (2, 64) if tiny else (16, 256)
    hr = hr_batch(batch, size, device)
    rng = np.random.default_rng(0)
    runs: dict[str, Callable[[], Any]] = {}
    for backend in ("opencv", "torchvision"):
        degrade = RandomDegradation("realesrgan", 4, device=device, jpeg_backend=backend)
        runs[f"srkit ({backend} JPEG)"] = lambda d=degrade: d(hr, rng)
    try:
        peer = BasicsrPeer(device, usm=True)
        runs["basicsr ops (USM, DiffJPEG)"] = lambda: peer(hr)
    except SystemExit as err:
        runs.pop("basicsr ops (USM, DiffJPEG)", None)
        print(f"peer unavailable: {err}", flush=True)
    out.update({"batch": batch, "hr_side": size})
    for name, call in runs.items():
        if budget.left() < 20:
            out[name] = "skipped: budget spent"
            continue
        try:
            timing = latency(call, device, batches)
            out[name] = {"pairs_per_s": batch / timing["median_s"], **timing}
        except Exception as err:
            out[name] = f"error: {type(err).__name__}: {err}"
        SAVE()
    return out


def environment(device: torch.device) -> dict[str, Any]:
    info = {"torch": torch.__version__, "python": platform.python_version(), "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu-check.json"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny networks and sizes (a CPU smoke test)")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds for all sections together")
    parser.add_argument("--sections", nargs="+", default=["unet", "train", "degrade", "sd"])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)  # the CPU mode is a smoke test; one thread is fastest on a shared machine
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are true fp32
        torch.backends.cudnn.allow_tf32 = False
    budget = Budget(args.budget)
    repeats = 2 if args.tiny else 10
    compile_ok = not args.no_compile
    report: dict[str, Any] = {"environment": environment(device), "tiny": args.tiny, "sections": {},
                              "section_seconds": {}}

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")

    global SAVE
    SAVE = save
    jobs = {
        "unet": lambda out: section_unet(device, args.tiny, repeats, budget, compile_ok, out),
        "sd": lambda out: section_sd(device, args.tiny, repeats, budget, compile_ok, out),
        "train": lambda out: section_train(device, args.tiny, 2 if args.tiny else 10, budget, out),
        "degrade": lambda out: section_degrade(device, args.tiny, repeats, budget, out),
    }
    for name in args.sections:
        started = time.monotonic()
        if budget.left() < 20:
            report["sections"][name] = "skipped: budget spent"
        else:
            report["sections"][name] = {}
            try:
                jobs[name](report["sections"][name])
            except Exception:
                report["sections"][name]["error"] = traceback.format_exc(limit=3)
        report["section_seconds"][name] = round(time.monotonic() - started, 1)
        save()
        print(f"[gpu_check] {name}: {report['section_seconds'][name]} s", flush=True)
    return report


if __name__ == "__main__":
    main()
