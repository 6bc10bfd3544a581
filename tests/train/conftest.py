"""Shared fixtures of the training tests: a folder of small synthetic photos and tiny recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import pytest
import torch

from srkit.config_schema import to_mapping
from srkit.nets.config import autoencoder_preset, unet_preset
from srkit.recipes import Recipe, load_recipe

TINY_UNET = {"kind": "unet", **to_mapping(unet_preset("tiny"))}
TINY_AUTOENCODER = {"kind": "autoencoder", **to_mapping(autoencoder_preset("tiny"))}
TINY_DISCRIMINATOR = {"kind": "patchgan", "base_channels": 8, "num_layers": 2}
FAST_TRAIN = {"steps": 3, "batch_size": 2, "log_every": 1, "val_every": 1000, "ckpt_every": 1000, "warmup_steps": 0}


def write_photo(path: Path, height: int, width: int, seed: int) -> None:
    """A smooth synthetic RGB photo with some texture (8-bit PNG)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    image = 0.5 + 0.35 * np.stack([np.sin(x / 5 + phase[0]), np.cos(y / 7 + phase[1]), np.sin((x + y) / 9 + phase[2])], -1)
    image += rng.normal(0, 0.03, image.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)[:, :, ::-1])


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from intra-op threads, and on a shared 2-core machine extra threads stall."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five HR photos of assorted sizes (one smaller than a 32 px crop, to be reflect-padded)."""
    folder = tmp_path_factory.mktemp("photos")
    for i, (h, w) in enumerate([(48, 64), (40, 40), (64, 52), (24, 36), (56, 44)]):
        write_photo(folder / f"photo{i}.png", h, w, seed=i)
    return folder


@pytest.fixture(scope="session")
def val_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("val")
    for i in range(2):
        write_photo(folder / f"val{i}.png", 40, 48, seed=100 + i)
    return folder


def tiny_recipe(name: str, **sections: Any) -> Recipe:
    """A built-in recipe shrunk for tests: tiny UNet, 32 px crops, T=50 for VP/DoSSR, few sampler steps."""
    recipe = load_recipe(name)
    base: dict[str, Any] = {"train": dict(FAST_TRAIN), "data": {"crop": 32}}
    if recipe.task == "autoencoder":
        base.update(network=TINY_AUTOENCODER, discriminator=TINY_DISCRIMINATOR)
    else:
        base["network"] = TINY_UNET
        if recipe.process.kind in ("vp", "dossr"):
            base["process"] = {"T": 50}
        if recipe.sampler.kind in ("ddpm", "ddim"):
            base["sampler"] = {"steps": 5}
        if recipe.discriminator is not None:
            base["discriminator"] = TINY_DISCRIMINATOR
    for section, values in sections.items():
        base[section] = {**base.get(section, {}), **values} if isinstance(values, dict) else values
    return recipe.with_overrides(**base)


@pytest.fixture
def make_recipe() -> Callable[..., Recipe]:
    return tiny_recipe
