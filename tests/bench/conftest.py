"""Fixtures for bench/stability tests: a tiny random SR model, a few small HR photos, empty metric caches."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest
import torch

from srkit.model import SRModel, model_from_modules
from srkit.io.images import write_image
from srkit.recipes import Recipe, load_recipe

#: A UNet small enough that a 24x24 sample takes milliseconds on CPU.
TINY_UNET = {
    "base_channels": 8, "channel_mult": [1, 2], "num_res_blocks": 1, "attention_resolutions": [2], "num_heads": 2, "head_channels": None,
}
HR_SIZES = ((24, 28), (28, 24), (24, 24))


def tiny_recipe(sampler: dict | None = None, base: str = "sr3") -> Recipe:
    """``base`` with the tiny UNet, T=20 and DDIM-2 (eta 0) unless ``sampler`` says otherwise; LR by bicubic."""
    sampler = sampler or {"kind": "ddim", "steps": 2, "eta": 0.0}
    return load_recipe(base).with_overrides(
        process={"T": 20}, sampler=sampler, network=TINY_UNET, data={"degradation": "bicubic"}
    )


def tiny_model(recipe: Recipe | None = None, seed: int = 0) -> SRModel:
    """An untrained tiny model whose weights are all seeded N(0, 0.05^2), so its output depends on its input."""
    from srkit.nets.build import build_network

    recipe = recipe or tiny_recipe()
    net = build_network(recipe.network, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    return model_from_modules(recipe, net.eval())


def smooth_photo(height: int, width: int, seed: int) -> np.ndarray:
    """A smooth random HxWx3 image in [0, 1] (low-frequency colour blobs, like a downscaled photo)."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((4, 4, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def write_hr_images(folder: Path) -> Path:
    """Three small HR PNGs (sides not all multiples of 4, one in a sub-folder)."""
    names = ("a.png", "b.png", "sub/c.png")
    for index, (name, (h, w)) in enumerate(zip(names, HR_SIZES)):
        write_image(folder / name, smooth_photo(h + index, w + 2 * index, seed=index))
    return folder


@pytest.fixture
def hr_dir(tmp_path: Path) -> Path:
    return write_hr_images(tmp_path / "hr")


def point_metric_caches_at(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Torch hub and Hugging Face caches under ``root`` (empty), weight packages hidden: learned metrics find no weights."""
    import torch.hub

    from srkit.metrics.perceptual import load_learned_metric

    from ..pretrained.packages import hide_weight_packages

    hide_weight_packages(monkeypatch)

    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))
    monkeypatch.setenv("HF_HOME", str(root / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "xdg"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    load_learned_metric.cache_clear()


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    point_metric_caches_at(tmp_path, monkeypatch)
    yield tmp_path
    from srkit.metrics.perceptual import load_learned_metric

    load_learned_metric.cache_clear()
