"""Training crops: random HR crops from a photo folder, or aligned crops of existing LR/HR pairs.

Sample order: the training stream visits the images in a fresh permutation
each epoch (``Stream.DATA_ORDER``, seeded by the epoch); stream position ``p``
is image ``perm_{p // N}[p % N]``. Micro-batch ``d`` of process ``rank`` out
of ``world`` takes positions ``((d * world + rank) * B) .. + B``, so processes
see disjoint shards of every global batch. Crop position and augmentation of
position ``p`` come from ``Stream.CROP`` seeded by ``p``: a sample depends on
nothing but ``(seed, p)``, which makes resuming exact.

Images smaller than the crop are reflect-padded (HR folder); LR/HR pairs
whose LR is smaller than the LR crop are skipped, because padding would break
their alignment. Augmentation (``data.flips``, ``data.rotations``): a
horizontal flip with probability 1/2 and a rotation by ``k * 90`` degrees,
``k`` uniform on 0..3, applied identically to LR and HR.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from srkit.errors import InputError, SettingError
from srkit.io.discovery import InputItem, find_images, outside_folder
from srkit.io.images import check_image_file, read_image
from srkit.train.seeding import Stream, numpy_rng

#: Decoded images kept in memory (float32 bytes); older ones are re-read from disk when needed.
CACHE_BYTES = 2 * 1024**3


class ImageCache:
    """Least-recently-used cache of decoded RGB float32 arrays, bounded in bytes; thread-safe."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Path, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return path in self._items

    def get(self, path: Path) -> np.ndarray:
        """The image's RGB array, read with :func:`srkit.io.images.read_image` on a miss."""
        with self._lock:
            if path in self._items:
                self._items.move_to_end(path)
                return self._items[path]
        rgb = read_image(path).rgb
        with self._lock:
            if path not in self._items and rgb.nbytes <= self.max_bytes:
                self._items[path] = rgb
                self._bytes += rgb.nbytes
                while self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= old.nbytes
        return rgb


def augment(images: Sequence[np.ndarray], rng: np.random.Generator, flips: bool, rotations: bool) -> list[np.ndarray]:
    """The same random horizontal flip and 90-degree rotation applied to every array (HxWxC)."""
    flip = bool(rng.integers(2)) if flips else False
    turns = int(rng.integers(4)) if rotations else 0
    out = []
    for image in images:
        if flip:
            image = image[:, ::-1]
        if turns:
            image = np.rot90(image, turns, axes=(0, 1))
        out.append(np.ascontiguousarray(image))
    return out


def reflect_pad_to(image: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad an HxWxC array at the bottom/right so both sides are at least ``size``."""
    pad_h, pad_w = max(0, size - image.shape[0]), max(0, size - image.shape[1])
    if not (pad_h or pad_w):
        return image
    mode = "reflect" if min(image.shape[:2]) > 1 else "edge"
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)


@dataclass(frozen=True)
class Sample:
    """One training crop: ``hr`` (HxWx3) and, for existing pairs, its ``lr`` (H/s x W/s x 3), float32 [0, 1]."""

    hr: np.ndarray
    lr: np.ndarray | None = None


class CropSource(Protocol):
    """``len`` images; ``crop(index, rng)`` cuts a random crop of image ``index`` with ``rng``."""

    def __len__(self) -> int: ...

    def crop(self, index: int, rng: np.random.Generator) -> Sample: ...


class HRCrops:
    """Random ``crop x crop`` crops of the HR photos in a folder (reflect-padded when smaller)."""

    def __init__(self, folder: str | Path, crop: int, cache: ImageCache, exclude: str | Path | None = None) -> None:
        self.items: list[InputItem] = outside_folder(find_images(folder), exclude)  # exclude: the run folder
        if not self.items:
            raise InputError(f"no training images in {folder} outside the run folder {exclude}")
        for item in self.items:  # a bad file fails now, not when a random crop first draws it hours into a run
            check_image_file(item.path)
        self.crop_size = crop
        self.cache = cache

    def __len__(self) -> int:
        return len(self.items)

    def crop(self, index: int, rng: np.random.Generator) -> Sample:
        image = reflect_pad_to(self.cache.get(self.items[index].path), self.crop_size)
        top = int(rng.integers(image.shape[0] - self.crop_size + 1))
        left = int(rng.integers(image.shape[1] - self.crop_size + 1))
        return Sample(hr=image[top : top + self.crop_size, left : left + self.crop_size])


def _check_pair_sizes(lr: tuple[int, ...], hr: tuple[int, ...], lr_path: Path, hr_path: Path, s: int) -> None:
    """The HR must be ``s`` times the LR, up to ``s - 1`` extra pixels at the bottom/right (cropped off)."""
    if not all(s * lr[i] <= hr[i] < s * (lr[i] + 1) for i in (0, 1)):
        raise InputError(f"{hr_path} is {hr[1]}x{hr[0]} but its LR {lr_path} is {lr[1]}x{lr[0]}: "
                         f"the HR must be {s}x the LR size")


def _pair_key(item: InputItem) -> str:
    return item.relative.with_suffix("").as_posix()


class PairedCrops:
    """Aligned crops of existing pairs: LR ``crop/s`` at ``(i, j)``, HR ``crop`` at ``(s i, s j)``.

    Pairs are matched by relative path without extension. HR images larger than
    ``s x`` their LR (by less than ``s`` pixels) are cropped at the bottom/right.
    """

    def __init__(self, lr_folder: str | Path, hr_folder: str | Path, crop: int, scale: int, cache: ImageCache,
                 message: Callable[[str], None] | None = None) -> None:
        if crop % scale:
            raise SettingError("crop", f"{crop} must be a multiple of the recipe's scale {scale}")
        self.crop_size, self.scale, self.cache = crop, scale, cache
        lrs = {_pair_key(i): i.path for i in find_images(lr_folder)}
        hrs = {_pair_key(i): i.path for i in find_images(hr_folder)}
        common = sorted(set(lrs) & set(hrs))
        if not common:
            raise InputError(f"no LR/HR pairs: no file in {lr_folder} has a same-named file in {hr_folder}")
        self.pairs: list[tuple[Path, Path]] = []
        skipped = 0
        for key in common:  # every pair is read once now: a bad file or size fails before the run, not hours in
            lr = cache.get(lrs[key])
            _check_pair_sizes(lr.shape, cache.get(hrs[key]).shape, lrs[key], hrs[key], scale)
            if min(lr.shape[:2]) < crop // scale:
                skipped += 1
                continue
            self.pairs.append((lrs[key], hrs[key]))
        if not self.pairs:
            raise InputError(f"every LR image in {lr_folder} is smaller than the LR crop {crop // scale} px; lower --crop")
        if message is not None and (skipped or len(common) < max(len(lrs), len(hrs))):
            message(f"paired data: {len(self.pairs)} pairs used, {skipped} smaller than the crop skipped, "
                    f"{max(len(lrs), len(hrs)) - len(common)} without a partner ignored")

    def __len__(self) -> int:
        return len(self.pairs)

    def crop(self, index: int, rng: np.random.Generator) -> Sample:
        lr_path, hr_path = self.pairs[index]
        lr, hr = self.cache.get(lr_path), self.cache.get(hr_path)
        s, size = self.scale, self.crop_size // self.scale
        top = int(rng.integers(lr.shape[0] - size + 1))
        left = int(rng.integers(lr.shape[1] - size + 1))
        return Sample(hr=hr[s * top : s * (top + size), s * left : s * (left + size)],
                      lr=lr[top : top + size, left : left + size])


@dataclass(frozen=True)
class TrainBatch:
    """A micro-batch on the training device: ``hr`` (B,3,H,W) and, for existing pairs, ``lr``; float32 in [0, 1]."""

    hr: torch.Tensor
    lr: torch.Tensor | None = None


def _to_tensor(arrays: Sequence[np.ndarray], device: torch.device) -> torch.Tensor:
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch.to(device)


class BatchStream:
    """Micro-batches of a :class:`CropSource` for one process, by draw number (see the module docstring).

    With ``workers > 0`` the crops of a batch are read by that many threads and
    the next batch is prepared in the background while the current one trains.
    """

    def __init__(self, source: CropSource, *, batch_size: int, seed: int, rank: int, world: int,
                 flips: bool, rotations: bool, device: torch.device, workers: int = 0) -> None:
        self.source, self.batch_size, self.seed = source, batch_size, seed
        self.rank, self.world, self.device = rank, world, device
        self.flips, self.rotations = flips, rotations
        self._perms: OrderedDict[int, np.ndarray] = OrderedDict()
        self._perm_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers) if workers > 0 else None
        self._prefetcher = ThreadPoolExecutor(max_workers=1) if workers > 0 else None
        self._pending: tuple[int, Future] | None = None

    def positions(self, draw: int) -> list[int]:
        """Stream positions of micro-batch ``draw`` for this process."""
        first = (draw * self.world + self.rank) * self.batch_size
        return list(range(first, first + self.batch_size))

    def image_index(self, position: int) -> int:
        """The image at stream ``position``: entry ``position % N`` of the permutation of its epoch."""
        count = len(self.source)
        epoch = position // count
        with self._perm_lock:
            perm = self._perms.get(epoch)
            if perm is None:
                perm = self._perms[epoch] = numpy_rng(self.seed, Stream.DATA_ORDER, epoch).permutation(count)
                while len(self._perms) > 2:
                    self._perms.popitem(last=False)
        return int(perm[position % count])

    def sample(self, position: int) -> Sample:
        """The augmented crop at ``position`` (depends only on the seed and the position)."""
        rng = numpy_rng(self.seed, Stream.CROP, position)
        raw = self.source.crop(self.image_index(position), rng)
        images = [raw.hr] if raw.lr is None else [raw.hr, raw.lr]
        augmented = augment(images, rng, self.flips, self.rotations)
        return Sample(hr=augmented[0], lr=augmented[1] if raw.lr is not None else None)

    def _load(self, draw: int) -> list[Sample]:
        positions = self.positions(draw)
        if self._pool is None:
            return [self.sample(p) for p in positions]
        return list(self._pool.map(self.sample, positions))

    def batch(self, draw: int) -> TrainBatch:
        """Micro-batch number ``draw`` on the device; prefetches ``draw + 1`` when threads are enabled."""
        if self._pending is not None and self._pending[0] == draw:
            samples = self._pending[1].result()
        else:
            samples = self._load(draw)
        if self._prefetcher is not None:
            self._pending = (draw + 1, self._prefetcher.submit(self._load, draw + 1))
        return self._to_batch(samples)

    def peek(self, draw: int) -> TrainBatch:
        """Micro-batch ``draw`` without touching the prefetch queue (for fixed reference batches)."""
        return self._to_batch(self._load(draw))

    def _to_batch(self, samples: list[Sample]) -> TrainBatch:
        hr = _to_tensor([s.hr for s in samples], self.device)
        lr = _to_tensor([s.lr for s in samples], self.device) if samples[0].lr is not None else None
        return TrainBatch(hr=hr, lr=lr)

    def close(self) -> None:
        for pool in (self._prefetcher, self._pool):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
