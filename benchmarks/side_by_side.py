"""A side-by-side crop of one LR photo upscaled x4 by bicubic, Real-ESRGAN x4plus and srkit models.

    python benchmarks/side_by_side.py examples/chelsea.png docs/images/chelsea-side-by-side.png \
        --box 40 20 64 48 --methods dossr

``--box LEFT TOP WIDTH HEIGHT`` is in LR pixels; every panel shows that region at 4x (nearest
neighbour display of the output pixels, no further resampling), labelled. The models run as
``srkit upscale`` runs them (built-in weights, default sampler and colour fix, ``--seed``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from srkit.infer.run import UpscaleRun
from srkit.io.images import read_image
from srkit.model import load_model
from srkit.model.condition import upsample_condition
from srkit.pretrained.realesrgan import load_realesrgan_x4plus
from srkit.recipes import load_recipe

LABEL_HEIGHT = 18


def panels(lr: np.ndarray, methods: list[str], seed: int) -> list[tuple[str, np.ndarray]]:
    """``(label, HxWx3 output in [0, 1])`` for bicubic, Real-ESRGAN x4plus and each srkit method."""
    tensor = torch.from_numpy(lr).permute(2, 0, 1)[None]
    out = [("bicubic", upsample_condition(tensor, 4).clamp(0, 1)[0].permute(1, 2, 0).numpy())]
    realesrgan = UpscaleRun.build(load_realesrgan_x4plus("cpu"))
    out.append(("Real-ESRGAN x4plus", realesrgan.super_resolve(lr, seed=seed).rgb))
    for method in methods:
        run = UpscaleRun.build(load_model(None, recipe=load_recipe(method)))
        result = run.super_resolve(lr, seed=seed)
        out.append((f"srkit {method} ({result.nfe} NFE)", result.rgb))
    return out


def compose(items: list[tuple[str, np.ndarray]], box: tuple[int, int, int, int]) -> Image.Image:
    """The crops side by side, each with its label above."""
    left, top, width, height = (4 * v for v in box)
    tiles = []
    for label, rgb in items:
        crop = np.clip(rgb[top : top + height, left : left + width] * 255 + 0.5, 0, 255).astype(np.uint8)
        tile = Image.new("RGB", (width, height + LABEL_HEIGHT), "white")
        tile.paste(Image.fromarray(crop), (0, LABEL_HEIGHT))
        ImageDraw.Draw(tile).text((4, 3), label, fill="black")
        tiles.append(tile)
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), tiles[0].height), "white")
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width + 4
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lr", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--box", type=int, nargs=4, default=(40, 20, 64, 48), metavar=("LEFT", "TOP", "WIDTH", "HEIGHT"))
    parser.add_argument("--methods", nargs="+", default=["dossr"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lr = read_image(args.lr).rgb
    sheet = compose(panels(lr, args.methods, args.seed), tuple(args.box))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
