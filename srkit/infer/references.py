"""Reference HR/LR pairs for ``srkit find-bc`` (optimal-BC paper, eq. (20): the R pairs ``(y_i, z_i)``).

Two sources, both giving ``R`` pairs of one fixed size (the BC's size):

- paired (``--ref-dir``): ``hr/`` and ``lr/`` subfolders whose files match by
  relative path without extension; the first ``R`` pairs in sorted order, each
  centre-cropped to ``crop`` HR pixels (``crop / scale`` LR pixels);
- made (``--hr-dir``): reference ``i`` is a ``crop``-pixel crop of HR image
  ``i mod n`` at a position drawn from ``(seed, i)``, degraded with the recipe's
  preset from a generator seeded with ``(seed, i)``. Reference ``i`` is the same
  whatever ``R`` is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from srkit.degrade.online import RandomDegradation
from srkit.errors import InputError, SettingError
from srkit.infer.seeding import derive_seed
from srkit.io.discovery import find_images
from srkit.io.images import read_image


@dataclass(frozen=True)
class ReferenceSet:
    """``hr`` (R,3,H,W) and ``lr`` (R,3,H/s,W/s), float32 in [0, 1] on CPU, and where they came from."""

    hr: Tensor
    lr: Tensor
    source: str

    def __len__(self) -> int:
        return int(self.hr.shape[0])

    def fingerprint(self) -> str:
        """sha256 of the pixels (first 16 hex): identifies the references in a progress file."""
        digest = hashlib.sha256()
        for tensor in (self.hr, self.lr):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]


def check_crop(crop: int, scale: int, multiple: int = 1) -> None:
    """The HR crop must be a multiple of ``scale * multiple`` (whole LR, and latent, pixels)."""
    if crop % (scale * multiple):
        raise SettingError("crop", f"{crop} must be a multiple of {scale * multiple} (scale {scale}, latent alignment {multiple})")


def _to_tensor(rgb: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)


def _centre(size: int, crop: int) -> int:
    return (size - crop) // 2


def paired_references(ref_dir: Path, count: int, crop: int, scale: int) -> ReferenceSet:
    """The first ``count`` matching pairs of ``ref_dir/hr`` and ``ref_dir/lr``, centre-cropped."""
    for sub in ("hr", "lr"):
        if not (ref_dir / sub).is_dir():
            raise InputError(f"reference folder {ref_dir} needs hr/ and lr/ subfolders (missing {sub}/)")
    lr_by_key = {item.relative.with_suffix("").as_posix(): item for item in find_images(ref_dir / "lr")}
    pairs = [(item, lr_by_key[key]) for item in find_images(ref_dir / "hr") if (key := item.relative.with_suffix("").as_posix()) in lr_by_key]
    if len(pairs) < count:
        raise InputError(f"reference folder {ref_dir} has {len(pairs)} matching hr/lr pairs, {count} were asked for")
    hr_list, lr_list = [], []
    lr_crop = crop // scale
    for hr_item, lr_item in pairs[:count]:
        hr, lr = read_image(hr_item.path), read_image(lr_item.path)
        if (hr.height, hr.width) != (lr.height * scale, lr.width * scale):
            raise InputError(f"{hr_item.path} is {hr.width}x{hr.height}, not {scale}x its LR {lr_item.path} ({lr.width}x{lr.height})")
        if min(lr.height, lr.width) < lr_crop:
            raise InputError(f"{lr_item.path} is smaller than the crop {crop} ({lr_crop} LR pixels)")
        top, left = _centre(lr.height, lr_crop), _centre(lr.width, lr_crop)
        lr_list.append(_to_tensor(lr.rgb[top : top + lr_crop, left : left + lr_crop]))
        hr_list.append(_to_tensor(hr.rgb[top * scale : (top + lr_crop) * scale, left * scale : (left + lr_crop) * scale]))
    return ReferenceSet(torch.stack(hr_list), torch.stack(lr_list), f"paired:{ref_dir}")


def made_references(hr_dir: Path, count: int, crop: int, scale: int, degradation: str, seed: int) -> ReferenceSet:
    """``count`` pairs cut from the photos in ``hr_dir`` and degraded with the preset ``degradation``."""
    degrade = RandomDegradation(degradation, scale)
    sizes = {item.path: read_image(item.path).rgb.shape[:2] for item in find_images(hr_dir)}
    usable = [path for path, (height, width) in sizes.items() if min(height, width) >= crop]
    if not usable:
        raise InputError(f"no image in {hr_dir} is at least {crop}x{crop} pixels (the crop)")
    hr_out: list[Tensor] = [torch.empty(0)] * count
    lr_out: list[Tensor] = [torch.empty(0)] * count
    for index, path in enumerate(usable):
        rgb = read_image(path).rgb
        for ref in range(index, count, len(usable)):
            rng = np.random.default_rng(derive_seed(seed, "reference", ref))
            top, left = int(rng.integers(rgb.shape[0] - crop + 1)), int(rng.integers(rgb.shape[1] - crop + 1))
            pair = degrade(_to_tensor(rgb[top : top + crop, left : left + crop])[None], np.random.default_rng(derive_seed(seed, "degradation", ref)))
            hr_out[ref], lr_out[ref] = pair.hr[0].float().cpu(), pair.lr[0].float().cpu()
    return ReferenceSet(torch.stack(hr_out), torch.stack(lr_out), f"made:{hr_dir}:{degradation}")
