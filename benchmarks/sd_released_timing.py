"""Seconds per image of the released SD-family models (DoSSR, CCSR v1, CCSR v2) at full size, from synthetic weights.

Builds the full-size networks (SD-2.1 UNet, ControlNet, KL-f8 VAE, condition encoder,
RRDBNet 23 blocks) with zero weights (no download; the cost of a dense network does not
depend on its values), times each network call once after a warm-up, and adds the calls
each official procedure makes for one OUT x OUT output:

- DoSSR (5 steps): RRDBNet on the LR, condition encoder + VAE encoder on P, 5 x (ControlNet + UNet), VAE decoder;
- DoSSR one-step: the same with 1 network evaluation;
- CCSR v1: condition encoder, 16 x (ControlNet + UNet), VAE decoder;
- CCSR v2 (6 steps, CFG 4.5): VAE encoder (batch 2), 1 + 2 x (ControlNet + UNet) (the CFG step is a batch of 2), VAE decoder.

    python benchmarks/sd_released_timing.py --out-size 512 [--device cuda --precision fp16]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch import nn

from srkit.nets.rrdbnet import RRDBNet
from srkit.released.sd.networks import (
    HINT_CONCAT,
    SD21_UNET,
    SD_VAE,
    ConditionEncoder,
    build_controlnet,
    build_unet,
    build_vae,
    controlnet_config,
)

UNET, VAE = SD21_UNET, SD_VAE
CONTROL = controlnet_config(SD21_UNET, HINT_CONCAT)  # DoSSR / CCSR v1: cat(x_t, c)


def zeros(factory, config, device: torch.device, dtype: torch.dtype) -> nn.Module:
    with torch.device("meta"):
        module = factory(config)
    module = module.to_empty(device=device).to(dtype).eval().requires_grad_(False)
    for tensor in [*module.parameters(), *module.buffers()]:
        tensor.zero_()
    return module


CPU_SECONDS: dict[str, float] = {}


def timed(fn, device: torch.device, name: str = "") -> float:
    """Wall seconds of one call (after a warm-up on CUDA); the process CPU seconds go to ``CPU_SECONDS[name]``."""
    with torch.no_grad():
        if device.type == "cuda":  # warm-up (kernels, allocator); on CPU one call is long enough to time alone
            fn()
            torch.cuda.synchronize()
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    CPU_SECONDS[name] = time.process_time() - cpu
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-size", type=int, default=512)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16"])
    args = parser.parse_args()
    device, dtype = torch.device(args.device), {"fp32": torch.float32, "fp16": torch.float16}[args.precision]
    size, lat = args.out_size, args.out_size // 8
    t: dict[str, float] = {}
    x = torch.zeros(1, 4, lat, lat, device=device, dtype=dtype)
    ctx = torch.zeros(1, 77, 1024, device=device, dtype=dtype)
    image = torch.zeros(1, 3, size, size, device=device, dtype=dtype)
    unet, control = zeros(build_unet, UNET, device, dtype), zeros(build_controlnet, CONTROL, device, dtype)
    ts = torch.tensor([499], device=device)

    def net(batch: int = 1) -> None:
        xb, cb = x.expand(batch, -1, -1, -1), ctx.expand(batch, -1, -1)
        down, mid = control(torch.cat([xb, xb], 1), ts.expand(batch), encoder_hidden_states=cb, controlnet_cond=xb, return_dict=False)
        unet(xb, ts.expand(batch), encoder_hidden_states=cb, down_block_additional_residuals=down, mid_block_additional_residual=mid)

    t["controlnet+unet"] = timed(net, device, "controlnet+unet")
    t["controlnet+unet batch 2"] = timed(lambda: net(2), device, "controlnet+unet batch 2")
    unet = control = None  # free before the VAE
    vae = zeros(build_vae, VAE, device, dtype)
    t["vae encode"] = timed(lambda: vae.encode(image), device, "vae encode")
    t["vae encode batch 2"] = timed(lambda: vae.encode(image.expand(2, -1, -1, -1)), device, "vae encode batch 2")
    t["vae decode"] = timed(lambda: vae.decode(x), device, "vae decode")
    vae = None
    cond = zeros(ConditionEncoder, VAE, device, dtype)
    t["condition encoder"] = timed(lambda: cond(image), device, "condition encoder")
    cond = None
    rrdb = zeros(lambda c: RRDBNet(**c), {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}, device, dtype)
    t["rrdbnet"] = timed(lambda: rrdb(image[..., : size // 4, : size // 4]), device, "rrdbnet")
    c = CPU_SECONDS

    def procedures(s: dict[str, float]) -> dict[str, float]:
        """Seconds per image of each official procedure from the seconds ``s`` of its calls."""
        return {
            "dossr (5 NFE)": s["rrdbnet"] + s["condition encoder"] + s["vae encode"] + 5 * s["controlnet+unet"] + s["vae decode"],
            "dossr-onestep (1 NFE)": s["rrdbnet"] + s["condition encoder"] + s["vae encode"] + s["controlnet+unet"] + s["vae decode"],
            "ccsr-v1 (16 NFE)": s["condition encoder"] + 16 * s["controlnet+unet"] + s["vae decode"],
            "ccsr-v2 (6 steps, CFG; 2 NFE)": s["vae encode batch 2"] + s["controlnet+unet"] + s["controlnet+unet batch 2"] + s["vae decode"],
        }

    per_image_cpu, per_image = procedures(c), procedures(t)
    print(json.dumps({"device": args.device, "precision": args.precision, "out_size": size, "threads": torch.get_num_threads(),
                      "load_average_1min": os.getloadavg()[0],
                      "calls_s": {k: round(v, 3) for k, v in t.items()}, "calls_cpu_s": {k: round(v, 2) for k, v in c.items()},
                      "per_image_cpu_s": {k: round(v, 1) for k, v in per_image_cpu.items()}, "per_image_s": {k: round(v, 2) for k, v in per_image.items()}}, indent=1))


if __name__ == "__main__":
    main()
