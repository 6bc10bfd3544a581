"""``degrade_folder``: HR images in, ``hr/``, ``lr/``, optional ``lr_up/`` and ``manifest.jsonl`` out.

Pair ``k`` of source ``rel/path/name.ext`` is ``rel/path/name`` (one pair per
image) or ``rel/path/name_k`` (``k`` zero-padded to 3 digits), written as PNG
under each output folder. Its crop and values are drawn from
``pair_rng(seed, "rel/path/name.ext", k)``: a pair depends only on the seed, the
source's relative path and ``k``, never on the other images, the worker count or
the order of work. Crop rules: :mod:`srkit.degrade.crops`.

Resume: a pair is skipped when the manifest holds its line (made with the same
settings) and its files exist. ``overwrite=True`` redoes everything.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from srkit.degrade.bicubic import upsample_bicubic
from srkit.degrade.crops import CropBox, check_crop_size, crop_to_multiple, random_crop_box
from srkit.degrade.manifest import MANIFEST_NAME, PairRecord, append_record, read_manifest, write_manifest
from srkit.degrade.ops import JpegBackend
from srkit.degrade.params import DegradationParams
from srkit.degrade.pipeline import apply
from srkit.degrade.preset import DegradationPreset, load_preset
from srkit.degrade.sampling import pair_rng, sample_params
from srkit.devices import resolve_device
from srkit.errors import InputError, UsageError
from srkit.io.atomic import make_folder
from srkit.io.discovery import InputItem, find_images, outside_folder
from srkit.io.images import read_image, write_image
from srkit.io.preflight import check_images

SCALES = (2, 3, 4, 8)
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class _Job:
    """One pair to make: from a source image, or (``replay``) exactly as a manifest line says."""

    order: int
    item: InputItem
    index: int
    pair: str
    replay: PairRecord | None = None


@dataclass(frozen=True)
class _Settings:
    preset: DegradationPreset
    scale: int
    seed: int
    crop: int | None
    write_lr_up: bool
    device: torch.device
    jpeg_backend: JpegBackend
    out_dir: Path


def _output_names(pair: str, write_lr_up: bool) -> tuple[str, str, str | None]:
    return f"hr/{pair}.png", f"lr/{pair}.png", f"lr_up/{pair}.png" if write_lr_up else None


def _plan_jobs(items: list[InputItem], pairs_per_image: int) -> list[_Job]:
    """One job per (image, k), with output ids that must not collide (``a.png`` and ``a.jpg`` would)."""
    jobs, owners = [], {}
    for item in items:
        stem = item.relative.with_suffix("").as_posix()
        for k in range(pairs_per_image):
            pair = stem if pairs_per_image == 1 else f"{stem}_{k:03d}"
            if pair in owners:
                raise UsageError(
                    f"{owners[pair]} and {item.relative.as_posix()} would both be written as {pair}.png; rename one"
                )
            owners[pair] = item.relative.as_posix()
            jobs.append(_Job(order=len(jobs), item=item, index=k, pair=pair))
    return jobs


def _plan_replay(items: list[InputItem], records: list[PairRecord]) -> list[_Job]:
    by_source = {item.relative.as_posix(): item for item in items}
    jobs = []
    for record in records:
        item = by_source.get(record.source)
        if item is None:
            raise InputError(f"replay: source image {record.source} of pair {record.pair} is not in the HR folder")
        jobs.append(_Job(order=len(jobs), item=item, index=record.index, pair=record.pair, replay=record))
    return jobs


def _draw(job: _Job, settings: _Settings, height: int, width: int) -> tuple[CropBox, DegradationParams] | None:
    """The crop and values of a new pair, or None when the image is too small for it."""
    rng = pair_rng(settings.seed, job.item.relative.as_posix(), job.index)
    if settings.crop is not None:
        box = random_crop_box(height, width, settings.crop, rng)
    elif height >= settings.scale and width >= settings.scale:
        box = crop_to_multiple(height, width, settings.scale)
    else:
        box = None
    if box is None:
        return None
    return box, sample_params(settings.preset, rng, settings.scale)


def _to_hwc(image: torch.Tensor) -> np.ndarray:
    return image[0].permute(1, 2, 0).cpu().numpy()


def _make_pair(job: _Job, settings: _Settings) -> PairRecord | None:
    """Read, crop, degrade and write one pair; its manifest record, or None if the image is too small."""
    image = read_image(job.item.path)
    if job.replay is not None:
        box, params = job.replay.crop, job.replay.params
        if box.top + box.height > image.height or box.left + box.width > image.width:
            raise InputError(
                f"replay: crop {list(box)} of pair {job.pair} does not fit {job.item.relative} "
                f"({image.width}x{image.height}); the source image changed"
            )
    else:
        drawn = _draw(job, settings, image.height, image.width)
        if drawn is None:
            return None
        box, params = drawn
    crop = box.cut(image.rgb)
    hr = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None]
    pair = apply(hr, [params], device=settings.device, jpeg_backend=settings.jpeg_backend)
    hr_name, lr_name, up_name = _output_names(job.pair, settings.write_lr_up)
    out = settings.out_dir
    write_image(out / hr_name, _to_hwc(pair.hr), bit_depth=image.bit_depth, mode="rgb")
    write_image(out / lr_name, _to_hwc(pair.lr), bit_depth=8, mode="rgb")
    if up_name is not None:
        write_image(
            out / up_name, _to_hwc(upsample_bicubic(pair.lr, params.scale).clamp(0, 1)), bit_depth=8, mode="rgb"
        )
    origin = job.replay
    return PairRecord(
        pair=job.pair,
        source=job.item.relative.as_posix(),
        index=job.index,
        crop=box,
        hr=hr_name,
        lr=lr_name,
        lr_up=up_name,
        preset=origin.preset if origin else settings.preset.name,
        preset_digest=origin.preset_digest if origin else settings.preset.digest(),
        seed=origin.seed if origin else settings.seed,
        crop_size=origin.crop_size if origin else settings.crop,
        params=params,
    )


def _is_done(job: _Job, record: PairRecord | None, settings: _Settings) -> bool:
    """Whether ``record`` (from OUT_DIR's manifest) already is this pair, with all its files."""
    if record is None:
        return False
    if job.replay is not None:
        same = (record.crop, record.params) == (job.replay.crop, job.replay.params)
    else:
        same = (record.preset_digest, record.seed, record.crop_size, record.params.scale) == (
            settings.preset.digest(),
            settings.seed,
            settings.crop,
            settings.scale,
        )
        if not same:
            raise UsageError(
                f"{settings.out_dir} holds pairs made with other settings (preset {record.preset}, seed {record.seed}, "
                f"crop {record.crop_size}, scale {record.params.scale}); pass --overwrite or choose another OUT_DIR"
            )
    names = [record.hr, record.lr] + ([record.lr_up or ""] if settings.write_lr_up else [])
    return same and all(name and (settings.out_dir / name).is_file() for name in names)


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """Set torch's intra-op thread count for a block (worker threads would oversubscribe the cores otherwise)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(jobs: list[_Job], settings: _Settings, workers: int) -> Iterator[tuple[_Job, PairRecord | None]]:
    """Results in job order; with ``workers > 0`` that many threads work ahead, sharing the cores."""
    if workers <= 0:
        for job in jobs:
            yield job, _make_pair(job, settings)
        return
    with _torch_threads(max(1, (os.cpu_count() or 1) // workers)):
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            yield from zip(jobs, pool.map(lambda j: _make_pair(j, settings), jobs), strict=True)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on an error, do not finish the queue first


def _sources(hr_dir: str | Path, out_dir: Path) -> list[InputItem]:
    """The HR images, minus anything inside OUT_DIR (which may sit inside HR_DIR)."""
    items = outside_folder(find_images(hr_dir), out_dir)
    if not items:
        raise InputError(f"no HR images found in {hr_dir} outside the output folder {out_dir}")
    return items


def _check_new_run(scale: int, crop: int | None, pairs_per_image: int) -> None:
    if scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(map(str, SCALES))}, got {scale}")
    if pairs_per_image < 1:
        raise UsageError(f"--pairs-per-image must be >= 1, got {pairs_per_image}")
    if crop is not None:
        check_crop_size(crop, scale)


def _final_records(jobs: list[_Job], made: dict[str, PairRecord], existing: dict[str, PairRecord]) -> list[PairRecord]:
    """Every record in pair order, then older records of pairs no longer planned (kept, never dropped)."""
    planned = {job.pair for job in jobs}
    ordered = [made.get(job.pair) or existing.get(job.pair) for job in jobs]
    return [r for r in ordered if r is not None] + [r for pair, r in existing.items() if pair not in planned]


def degrade_folder(
    hr_dir: str | Path,
    out_dir: str | Path,
    *,
    preset: str | DegradationPreset = "realesrgan",
    scale: int = 4,
    crop: int | None = None,
    pairs_per_image: int = 1,
    seed: int = 0,
    workers: int = 0,
    device: str | torch.device = "cpu",
    write_lr_up: bool = False,
    replay: str | Path | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    jpeg_backend: JpegBackend = "opencv",
) -> dict[str, Any]:
    """Make LR/HR pairs from the images of ``hr_dir`` (folder, file or glob) into ``out_dir``.

    ``replay``: a manifest whose pairs are regenerated exactly (its preset, seed,
    crops and values; ``preset``/``scale``/``crop``/``seed`` are then ignored).
    ``workers``: threads (0 = this thread). ``progress(done, total)`` is called
    after every pair. Returns a JSON-ready summary.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    items = _sources(hr_dir, out)
    sizes = check_images(item.path for item in items)  # a bad file fails before the first pair, not after half of them
    if crop is not None and replay is None and all(min(size) < crop for size in sizes):
        raise InputError(f"every HR image is smaller than the crop of {crop} px (e.g. {items[0].relative}); no pairs to make: lower --crop")
    records_in = read_manifest(replay) if replay is not None else None
    if records_in is not None:
        jobs = _plan_replay(items, records_in)
        scale = records_in[0].params.scale if records_in else scale
    else:
        _check_new_run(scale, crop, pairs_per_image)
        jobs = _plan_jobs(items, pairs_per_image)
    settings = _Settings(
        load_preset(preset), scale, seed, crop, write_lr_up, torch.device(resolve_device(str(device))), jpeg_backend, out
    )
    manifest = out / MANIFEST_NAME
    make_folder(out)
    if overwrite:
        manifest.unlink(missing_ok=True)
    existing = {r.pair: r for r in read_manifest(manifest)} if manifest.is_file() else {}
    todo = [job for job in jobs if not _is_done(job, existing.get(job.pair), settings)]
    made: dict[str, PairRecord] = {}
    too_small: set[str] = set()
    done = len(jobs) - len(todo)
    if progress is not None:
        progress(done, len(jobs))
    for job, record in _run(todo, settings, workers):
        if record is None:
            too_small.add(job.item.relative.as_posix())
        else:
            append_record(manifest, record)
            made[record.pair] = record
        done += 1
        if progress is not None:
            progress(done, len(jobs))
    write_manifest(manifest, _final_records(jobs, made, existing))
    seconds = time.perf_counter() - started
    return {
        "out_dir": str(out),
        "manifest": str(manifest),
        "preset": records_in[0].preset if records_in else settings.preset.name,
        "scale": scale,
        "device": str(settings.device),
        "pairs": len(jobs),
        "written": len(made),
        "skipped_existing": len(jobs) - len(todo),
        "skipped_too_small": sorted(too_small),
        "seconds": round(seconds, 3),
        "pairs_per_second": round(len(made) / seconds, 3) if seconds > 0 else None,
    }
