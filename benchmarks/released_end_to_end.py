"""`srkit convert` then `srkit upscale --weights` for every released family, from full-size synthetic checkpoints.

For each family this writes an official-style source of zeros with every official key and
shape (ResShift: the two ``.pth`` pickles; DoSSR / CCSR v1: one Lightning-style ``.ckpt``
pickle with its text tower; CCSR v2: the four diffusers folders), then runs the two
commands exactly as a user does (separate processes, ``--json``) on one small LR image and
reports wall seconds of each. Zero weights cost what real ones do; only the timing means
anything. The key sets come from ``tests/released`` (run from the repository root).

    python benchmarks/released_end_to_end.py --work /tmp/e2e --lr-size 32 [--families dossr ccsr-v2]

Sources and converted files are deleted after each family (the largest needs about 7 GB of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

from srkit.released.resshift.unet import SwinUNetConfig
from srkit.released.resshift.vq import VQConfig
from tests.released.official_keys import official_unet_shapes, official_vq_shapes
from tests.released.sd.official_keys import LDMConfig, controlldm_keys
from tests.released.sd.synthetic import full_size_ccsr_v2_shapes, with_sd_schedule
from tests.released.test_resshift_full_size import zeros_checkpoint

FAMILIES = ["resshift-v3", "resshift-v1", "dossr", "dossr-onestep", "ccsr-v1", "ccsr-v2"]
DIFFUSERS_CLASSES = {"controlnet": "ControlNetModel", "unet": "UNet2DConditionModel", "vae": "AutoencoderKL", "text_encoder": None}


def _zeros(shapes: dict[str, tuple[int, ...]], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return {k: torch.zeros(s, dtype=dtype) for k, s in shapes.items()}


def write_sources(family: str, folder: Path, dtype: torch.dtype) -> list[Path]:
    """The official-style source files of ``family`` (zeros with every official key and shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    if family.startswith("resshift"):
        unet = zeros_checkpoint(official_unet_shapes(SwinUNetConfig()), folder / "resshift.pth", wrap=True)
        return [unet, zeros_checkpoint(official_vq_shapes(VQConfig()), folder / "autoencoder_vq_f4.pth", wrap=False)]
    if family in ("dossr", "dossr-onestep", "ccsr-v1"):
        shapes = controlldm_keys(LDMConfig(), text=True, dossr=family != "ccsr-v1")
        state = with_sd_schedule(_zeros(shapes, dtype))
        path = folder / f"{family}.ckpt"
        torch.save({"state_dict": state}, path)
        return [path]
    shapes = full_size_ccsr_v2_shapes()
    paths = []
    for role, cls in DIFFUSERS_CLASSES.items():
        sub = folder / role
        sub.mkdir()
        config = {"_class_name": cls} if cls else {"architectures": ["CLIPTextModel"]}
        (sub / "config.json").write_text(json.dumps(config))
        own = {k[len(role) + 1:]: s for k, s in shapes.items() if k.startswith(role + ".")}
        save_file(_zeros(own, dtype), sub / ("model.safetensors" if cls is None else "diffusion_pytorch_model.safetensors"))
        paths.append(sub)
    return paths


def _srkit(*args: str) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "srkit", *args, "--json", "--quiet"], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"srkit {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (emptied per family)")
    parser.add_argument("--families", nargs="+", default=FAMILIES, choices=FAMILIES)
    parser.add_argument("--lr-size", type=int, default=32, help="side of the LR test image in pixels")
    parser.add_argument("--source-dtype", default="fp16", choices=["fp16", "fp32"])
    args = parser.parse_args()
    dtype = {"fp16": torch.float16, "fp32": torch.float32}[args.source_dtype]
    photos = args.work / "in"
    photos.mkdir(parents=True, exist_ok=True)
    rgb = (np.random.default_rng(0).random((args.lr_size, args.lr_size, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(photos / "lr.png")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, sources {args.source_dtype}, "
          f"LR {args.lr_size}x{args.lr_size}", flush=True)
    print("| family | convert s | converted MB | upscale s (process, load included) | output | NFE |")
    print("| --- | ---: | ---: | ---: | --- | ---: |", flush=True)
    for family in args.families:
        folder = args.work / family
        sources = write_sources(family, folder / "src", dtype)
        weights = folder / "model.safetensors"
        convert_s, converted = _srkit("convert", "--from", family, *map(str, sources), "-o", str(weights))
        upscale_s, report = _srkit("upscale", str(photos), str(folder / "out"), "--weights", str(weights), "--device", "cpu")
        image = report["images"][0]
        out = Image.open(folder / "out" / "lr.png")
        print(f"| {family} | {convert_s:.0f} | {converted['bytes'] / 1e6:.0f} | {upscale_s:.0f} | {out.width}x{out.height} | "
              f"{image['nfe']} |", flush=True)
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
