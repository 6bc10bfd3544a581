"""Validation during training: a fixed subset of ``--val`` photos, PSNR/SSIM on Y, a sample grid.

The first ``train.val_images`` images of the folder are centre-cropped to
``data.crop`` (reflect-padded when smaller) and degraded once with the
recipe's preset from a fixed seed, so every validation sees the same pairs
(scores compare with the photo itself, not the sharpened target some presets train on);
sampling noise is fixed too, so successive scores differ only by the weights.
PSNR and SSIM are measured on the Y channel with ``scale`` border pixels
cropped (:mod:`srkit.metrics.fidelity`, pyiqa's definitions). The grid has one
row per image: bicubic-upsampled LR | model output | HR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from srkit.degrade.online import RandomDegradation
from srkit.io.discovery import find_images
from srkit.io.images import write_image
from srkit.metrics.fidelity import psnr, ssim
from srkit.model.condition import upsample_condition
from srkit.recipes import Recipe
from srkit.train.data import ImageCache, reflect_pad_to
from srkit.train.seeding import Stream, numpy_rng, torch_rng
from srkit.train.tasks.base import Task

GRID_GAP = 2


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central ``size x size`` crop of an HxWxC array (reflect-padded first when smaller)."""
    image = reflect_pad_to(image, size)
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def sample_grid(columns: list[Tensor]) -> np.ndarray:
    """Rows of images side by side (each column a (N,3,H,W) batch in [0, 1]) as one HxWx3 uint8 array."""
    rows = []
    for i in range(columns[0].shape[0]):
        cells = [c[i].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() for c in columns]
        height = max(cell.shape[0] for cell in cells)
        gap = np.ones((height, GRID_GAP, 3), np.float32)
        padded = [np.pad(cell, ((0, height - cell.shape[0]), (0, 0), (0, 0)), constant_values=1.0) for cell in cells]
        rows.append(np.concatenate([x for cell in padded for x in (cell, gap)][:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, GRID_GAP), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    return np.rint(np.concatenate(rows, axis=0)[:-GRID_GAP] * 255.0).astype(np.uint8)


class Validator:
    """Fixed validation pairs of a run and how to score a model on them."""

    def __init__(self, folder: str | Path, recipe: Recipe, *, seed: int, device: torch.device) -> None:
        items = find_images(folder)[: recipe.train.val_images]
        cache = ImageCache()
        crops = [centre_crop(cache.get(item.path), recipe.data.crop) for item in items]
        hr = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous().to(device)
        self.scale = recipe.scale
        self.seed = seed
        self.batch_size = recipe.train.batch_size
        if recipe.task == "autoencoder":
            self.lr, self.hr = hr, hr
        else:
            degrade = RandomDegradation(recipe.data.degradation, recipe.scale, device)
            self.lr, self.hr = degrade(hr, numpy_rng(seed, Stream.VALIDATION)).lr, hr

    def run(self, task: Task, averaged: dict, grid_path: Path | None) -> dict[str, float]:
        """Score the EMA model on the pairs (``val_psnr``, ``val_ssim``) and write the grid when a path is given."""
        outputs = []
        for start in range(0, self.hr.shape[0], self.batch_size):
            chunk = slice(start, start + self.batch_size)
            generator = torch_rng(self.seed, Stream.VALIDATION, 1, start, device=self.hr.device)
            outputs.append(task.validation_output(averaged, self.lr[chunk], self.hr[chunk], generator).float())
        sr = torch.cat(outputs)
        border = self.scale if min(sr.shape[-2:]) > 2 * self.scale + 11 else 0
        scores = {"val_psnr": float(psnr(sr, self.hr, crop=border).mean())}
        if min(sr.shape[-2:]) - 2 * border >= 11:
            scores["val_ssim"] = float(ssim(sr, self.hr, crop=border).mean())
        if grid_path is not None:
            lr_up = upsample_condition(self.lr, self.scale).clamp(0, 1) if self.lr is not self.hr else self.hr
            write_image(grid_path, sample_grid([lr_up, sr, self.hr]))
        return scores
