"""The images a benchmark runs on: HR photos, and the LR input each row sees.

Two sources:

- an HR folder degraded on the fly with a preset (``srkit.degrade``): the HR is
  cropped at the top-left to a multiple of the scale (``crop_to_multiple``, the
  degradation module's rule) and degraded with values drawn from
  ``pair_rng(lr_seed, "bench", <relative path>)``. The LR of an image therefore
  depends only on the image's name, the preset, the scale and ``lr_seed`` - never
  on the sampling seed, the run, the row order or ``--limit`` - so every run and
  every call sees the same LR. Metrics compare with the cropped HR as read (a
  preset's USM sharpening shapes training targets, not the ground truth).
- paired folders (``--paired-lr``): the LR file with the HR's relative path
  (any extension); the HR must be ``scale`` times the LR, give or take the
  ``scale - 1`` pixels that cropping to a multiple drops.

With ``centre_crop`` (``--center-crop N``) every pair is the centred crop of at
most N px per side (``centre_crop_box``, on the scale grid; the LR of a paired
folder is cropped to match), degraded after cropping: a quick protocol for
large validation sets.

HR images are read from disk when needed (a validation set of 2K photos does
not fit in memory); the much smaller LR images are cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from srkit.degrade.crops import centre_crop_box, crop_to_multiple
from srkit.degrade.pipeline import apply
from srkit.degrade.preset import load_preset
from srkit.degrade.sampling import pair_rng, sample_params
from srkit.errors import InputError, SettingError, UsageError
from srkit.io.discovery import InputItem, find_images, outside_folder
from srkit.io.images import read_image

if TYPE_CHECKING:
    from srkit.degrade.crops import CropBox

PAIRED = "paired"


@dataclass(frozen=True)
class Pair:
    """One evaluation pair: ``hr`` (1,3,H,W) and ``lr`` (1,3,H/s,W/s), float32 in [0, 1] on CPU."""

    name: str
    hr: Tensor
    lr: Tensor


def to_tensor(rgb: np.ndarray) -> Tensor:
    """HxWx3 float array -> (1,3,H,W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]


def to_array(image: Tensor) -> np.ndarray:
    """(1,3,H,W) tensor -> HxWx3 float32 array."""
    return image[0].permute(1, 2, 0).detach().cpu().numpy().astype(np.float32)


def _key(relative: Path) -> str:
    return relative.with_suffix("").as_posix()


@dataclass
class BenchDataset:
    """HR images (``items``, sorted by relative path) and, when paired, their LR files.

    Build it with :func:`open_dataset`. ``pair(i, scale=..., degradation=...)``
    gives image ``i`` with the LR of that degradation preset (ignored when paired).
    """

    items: list[InputItem]
    lr_items: dict[str, InputItem] | None = None  # key: relative path without extension
    lr_seed: int = 0
    centre_crop: int | None = None
    _lr_cache: dict[tuple[str, int, str], Tensor] = field(default_factory=dict, repr=False)
    _presets: dict[str, object] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def paired(self) -> bool:
        return self.lr_items is not None

    @property
    def names(self) -> list[str]:
        return [item.relative.as_posix() for item in self.items]

    def source(self, degradation: str | None) -> str:
        """What makes the LR: ``"paired"`` or the preset name."""
        if self.paired:
            return PAIRED
        if not degradation:
            raise InputError("an HR folder needs a degradation preset to make LR inputs (--preset)")
        return degradation

    def pair(self, index: int, *, scale: int, degradation: str | None) -> Pair:
        """Image ``index`` as an HR/LR pair at ``scale``, the LR made by ``degradation`` (or read, when paired)."""
        item = self.items[index]
        name = item.relative.as_posix()
        rgb = read_image(item.path).rgb
        if self.paired:
            return self._paired(item, rgb, scale)
        try:
            box = self._box(rgb.shape[0], rgb.shape[1], scale)
        except UsageError as error:
            raise InputError(f"{item.path}: {error}") from None
        hr = to_tensor(box.cut(rgb))
        key = (name, scale, self.source(degradation))
        if key not in self._lr_cache:
            self._lr_cache[key] = self._degrade(name, hr, scale, self.source(degradation))
        return Pair(name, hr, self._lr_cache[key])

    def _box(self, height: int, width: int, scale: int) -> "CropBox":
        """The HR region evaluated: the top-left multiple of ``scale``, or the centre crop."""
        if self.centre_crop is None:
            return crop_to_multiple(height, width, scale)
        return centre_crop_box(height, width, self.centre_crop, scale)

    def _degrade(self, name: str, hr: Tensor, scale: int, preset_name: str) -> Tensor:
        """LR of one HR image from the preset's values drawn by ``pair_rng(lr_seed, "bench", name)``."""
        if preset_name not in self._presets:
            self._presets[preset_name] = load_preset(preset_name)
        params = sample_params(self._presets[preset_name], pair_rng(self.lr_seed, "bench", name), scale)
        return apply(hr, [params], device="cpu").lr.float()

    def _paired(self, item: InputItem, rgb: np.ndarray, scale: int) -> Pair:
        name = item.relative.as_posix()
        lr_item = self.lr_items[_key(item.relative)]
        key = (name, scale, PAIRED)
        if key not in self._lr_cache:
            self._lr_cache[key] = to_tensor(read_image(lr_item.path).rgb)
        lr = self._lr_cache[key]
        h, w = lr.shape[-2] * scale, lr.shape[-1] * scale
        if not (h <= rgb.shape[0] < h + scale and w <= rgb.shape[1] < w + scale):
            raise InputError(
                f"{item.path} is {rgb.shape[1]}x{rgb.shape[0]}, not {scale}x its LR {lr_item.path} "
                f"({lr.shape[-1]}x{lr.shape[-2]})"
            )
        box = self._box(h, w, scale)
        hr = to_tensor(box.cut(rgb))
        top, left = box.top // scale, box.left // scale
        return Pair(name, hr, lr[..., top : top + box.height // scale, left : left + box.width // scale])


def check_lr_options(paired_lr: str | Path | None, preset: str | None) -> None:
    """``--preset`` and ``--paired-lr`` exclude each other; a preset name or file is validated up front."""
    if paired_lr is not None and preset is not None:
        raise UsageError("--preset degrades --data, --paired-lr reads ready LR images: pass one of them")
    if preset is not None:
        load_preset(preset)


def open_dataset(
    data: str | Path, *, paired_lr: str | Path | None = None, limit: int | None = None, lr_seed: int = 0,
    centre_crop: int | None = None, exclude: str | Path | None = None,
) -> BenchDataset:
    """The HR images under ``data`` (first ``limit`` in sorted order), paired with ``paired_lr`` if given,
    each cut to its centre ``centre_crop`` px if given; none from inside ``exclude`` (the results folder)."""
    if limit is not None and limit < 1:
        raise SettingError("limit", f"must be >= 1, got {limit}")
    items = outside_folder(find_images(data), exclude)[:limit]
    if not items:
        raise InputError(f"no images in {data} outside the output folder {exclude}")
    if paired_lr is None:
        return BenchDataset(items, lr_seed=lr_seed, centre_crop=centre_crop)
    lr_by_key = {_key(item.relative): item for item in find_images(paired_lr)}
    missing = [item.relative.as_posix() for item in items if _key(item.relative) not in lr_by_key]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(f"--paired-lr {paired_lr} has no LR image for {missing[0]}{more} (files match by relative path)")
    return BenchDataset(items, lr_items={_key(item.relative): lr_by_key[_key(item.relative)] for item in items}, lr_seed=lr_seed,
                        centre_crop=centre_crop)
