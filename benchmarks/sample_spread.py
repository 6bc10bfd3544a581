"""How far one diffusion sample lies from the mean of many, in PSNR-Y against the HR image.

    python benchmarks/sample_spread.py --data ../shared/corpus/val --center-crop 128 --samples 8

For each built-in method (or ``--methods``) and each image: PSNR-Y of the bicubic
upsampling of its LR (the ``srkit bench`` baseline), of one sample
at the default steps, of the pixel mean of ``--samples`` samples (seeds 0..N-1),
and of the one-step estimate (the network's regression of x0 from the start
state). For a sampler that draws from the true posterior, the mean squared error
of a sample is the posterior variance plus that of the posterior mean, twice the
latter: one sample scores 10 log10(2) = 3.01 dB below the posterior mean. The
gap measured here shows how much of a method's PSNR is the price of sampling.
LR inputs are made with each method's training degradation (as ``srkit bench``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import track
from rich.table import Table

from srkit.bench.dataset import open_dataset, to_array, to_tensor
from srkit.bench.upscalers import BicubicUpscaler
from srkit.infer.loading import open_model
from srkit.infer.pipeline import super_resolve_image
from srkit.metrics.fidelity import psnr

METHODS = ("resshift", "dossr", "ccsr")
COLUMNS = ("bicubic", "one sample", "mean of samples", "one-step estimate")


def measure(method: str, data: str, centre_crop: int | None, samples: int) -> dict[str, float]:
    """Mean PSNR-Y over the images of bicubic, one sample, the mean of ``samples`` samples and the 1-step estimate."""
    model = open_model(method=method, recipe_path=None, weights=None, device="cpu", precision="fp32", default_method=method)
    dataset = open_dataset(data, centre_crop=centre_crop)
    one_step = model.sampler(model.recipe.sampler.with_overrides(steps=1))
    scores = []
    for index in track(range(len(dataset.names)), description=method, console=Console(stderr=True)):
        pair = dataset.pair(index, scale=model.scale, degradation=model.recipe.data.degradation)
        lr = to_array(pair.lr)
        outputs = [super_resolve_image(model, lr, seed=seed).rgb for seed in range(samples)]
        estimate = to_tensor(super_resolve_image(model, lr, seed=0, sampler=one_step).rgb)
        bicubic = BicubicUpscaler(model.scale)(pair.lr)[0]
        images = (bicubic, to_tensor(outputs[0]), to_tensor(np.mean(outputs, axis=0)), estimate)
        scores.append([psnr(image, pair.hr, crop=model.scale).item() for image in images])
    means = np.mean(scores, axis=0)
    return {"method": method, "steps": model.recipe.sampler.steps, "samples": samples, "images": len(scores),
            **{name: round(float(value), 3) for name, value in zip(COLUMNS, means)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder of HR images")
    parser.add_argument("--center-crop", type=int, default=None, help="evaluate the centred N x N px crop of each image")
    parser.add_argument("--samples", type=int, default=8, help="samples per image for the mean (seeds 0..N-1)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), help="built-in methods (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    args = parser.parse_args(argv)
    if args.samples < 2:
        parser.error("--samples must be >= 2")
    torch.set_num_threads(args.threads)
    rows = [measure(method, args.data, args.center_crop, args.samples) for method in args.methods]
    table = Table(title=f"PSNR-Y (dB), {rows[0]['images']} images")
    for name in ("method", "steps", *COLUMNS):
        table.add_column(name, justify="left" if name == "method" else "right")
    for row in rows:
        table.add_row(row["method"], str(row["steps"]), *(f"{row[name]:.2f}" for name in COLUMNS))
    Console(stderr=True).print(table)
    text = json.dumps(rows, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
