"""``upscale``: super-resolve files, folders or globs into a mirrored output folder, with a report.

Library form of ``srkit upscale`` (docs/inference.md). Every input is decoded
once before any work starts, so an unreadable file fails the run (one
``InputError``) before anything is written, or with ``skip_unreadable`` is left
out and listed in the report with its reason. Outputs keep the input's layout
(grey stays grey, alpha is upscaled separately with bicubic, 16-bit stays
16-bit where the format can store it) and are written atomically; existing
ones are skipped unless ``overwrite``. ``report.json`` lists, per image, the
time, NFE, seed, method and model id. Under ``torchrun`` the images are sharded
across processes and rank 0 merges the per-rank reports.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from srkit.errors import InputError, UsageError
from srkit.infer.bc import BoundaryCondition, check_bc_for_run
from srkit.infer.color_fix import color_fix_by_name
from srkit.infer.distributed import Shard, barrier, current_shard
from srkit.infer.memory import auto_tile_size, free_memory_bytes
from srkit.infer.model import SRModel
from srkit.infer.pipeline import ColorFix, Tiling, super_resolve_image
from srkit.infer.resize import resize_array
from srkit.infer.seeding import derive_seed
from srkit.diffusion.build import BoundSampler
from srkit.recipes import SamplerConfig

REPORT_NAME = "report.json"
Progress = Callable[[str, dict[str, Any]], None]
TileSpec = int | str | None  # output pixels, "auto", or None/0 for whole images


@dataclass(frozen=True)
class RunSettings:
    """How every image of one ``upscale`` call is made (validated once)."""

    sampler: BoundSampler
    seed: int
    bc: BoundaryCondition | None
    scale: float
    color_fix: ColorFix | None
    tile: TileSpec
    overlap: int
    batch: int
    overwrite: bool


@dataclass(frozen=True)
class Job:
    """One image to make: where it comes from and where it goes."""

    item: Any  # srkit.io.discovery.InputItem
    output: Path


def parse_tile(value: str | int | None) -> TileSpec:
    """``--tile``: ``auto``, ``0``/``none`` (whole images) or a size in output pixels (>= 8)."""
    if value is None or isinstance(value, int):
        return None if not value else _check_tile(value)
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text in ("0", "none", "off"):
        return None
    if not text.isdigit():
        raise UsageError(f"--tile must be 'auto', 0 or a size in output pixels like 512, got '{value}'")
    return _check_tile(int(text))


def _check_tile(size: int) -> int:
    if size < 8:
        raise UsageError(f"--tile must be at least 8 output pixels, got {size}")
    return size


def output_scale(value: float | None, model_scale: int) -> float:
    """The final output scale: the model's own unless ``--scale`` asks for another (> 0)."""
    if value is None:
        return float(model_scale)
    if not value > 0:
        raise UsageError(f"--scale must be > 0, got {value}")
    return float(value)


def plan_jobs(inputs: str | Path | Sequence[Any], output_dir: Path, ext: str | None, suffix: str = "") -> list[Job]:
    """Find the input images and their mirrored output paths (one-line errors for missing/clashing ones).

    One input file with an image-file OUTPUT (``photo.jpg -> photo_x4.png``) is written to exactly that file.

    Files that are this run's own outputs (an output folder inside the input folder, or ``suffix``
    outputs written next to their inputs) are not inputs.
    """
    from srkit.io.atomic import check_folder_path
    from srkit.io.discovery import find_images, output_file_for, output_paths, without_own_outputs

    items = find_images(inputs) if isinstance(inputs, (str, Path)) else list(inputs)
    target = output_file_for(inputs, output_dir) if isinstance(inputs, (str, Path)) else None
    if target is not None:
        if ext or suffix:
            raise UsageError(f"--ext and --suffix name outputs in a folder; OUTPUT {target} already names the file")
        if target.resolve() == items[0].path.resolve():
            raise UsageError(f"output {target} would overwrite its input; choose another output name")
        check_folder_path(target.parent)
        return [Job(items[0], target)]
    items = without_own_outputs(items, output_dir, ext=ext, suffix=suffix)
    if not items:
        raise InputError(f"no images in {inputs} besides this run's own outputs in {output_dir}")
    outputs = output_paths(items, output_dir, ext=ext, suffix=suffix)
    return [Job(item, out) for item, out in zip(items, outputs, strict=True)]


def preflight(jobs: Sequence[Job], skip_unreadable: bool = False) -> tuple[list[Job], list[dict[str, Any]]]:
    """Decode every input once, before anything is written: ``(readable jobs, report entries of the others)``.

    An unreadable input raises its ``InputError`` unless ``skip_unreadable``; even
    then a run with no readable input at all is refused.
    """
    from srkit.io.images import read_image

    readable, unreadable = [], []
    for job in jobs:
        try:
            read_image(job.item.path)
        except InputError as error:
            if not skip_unreadable:
                raise
            unreadable.append({"input": str(job.item.path), "output": str(job.output), "status": "unreadable", "error": str(error)})
        else:
            readable.append(job)
    if jobs and not readable:
        raise InputError(f"none of the {len(jobs)} inputs is readable; first: {unreadable[0]['error']}")
    return readable, unreadable


def tile_for(tile: TileSpec, model: SRModel, out_h: int, out_w: int, batch: int) -> int | None:
    """Tile size in output pixels for an ``out_h x out_w`` output: ``tile`` itself, or for ``"auto"`` what fits on the model's device."""
    if tile != "auto":
        return tile  # type: ignore[return-value]
    device = model.device
    return auto_tile_size(
        model.recipe,
        out_h,
        out_w,
        batch=batch,
        precision=model.precision,
        free_bytes=free_memory_bytes(device),
        on_cpu=device.type == "cpu",
    )


def _write_output(job: Job, image: Any, rgb: Any, out_h: int, out_w: int) -> None:
    """Resize to the requested size if needed and write in the input's layout (alpha dropped if the format has none)."""
    from srkit.io.formats import format_for_path
    from srkit.io.images import Image, write_image

    rgb = resize_array(rgb, out_h, out_w)
    alpha, mode = image.alpha, image.mode
    fmt = format_for_path(job.output)
    if alpha is not None and fmt is not None and not fmt.alpha:
        alpha, mode = None, "grey" if mode == "grey_alpha" else "rgb"
    if alpha is not None:
        alpha = resize_array(alpha, out_h, out_w)
    write_image(job.output, Image(rgb=rgb, alpha=alpha, bit_depth=image.bit_depth, mode=mode))


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from srkit.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def upscale(
    inputs: str | Path | Sequence[Any],
    output_dir: str | Path,
    *,
    model: SRModel,
    sampler_cfg: SamplerConfig | None = None,
    seed: int = 0,
    bc: BoundaryCondition | None = None,
    scale: float | None = None,
    color_fix: str = "none",
    tile: TileSpec = "auto",
    tile_overlap: int = 32,
    batch: int = 1,
    ext: str | None = None,
    suffix: str = "",
    overwrite: bool = False,
    skip_unreadable: bool = False,
    progress: Progress | None = None,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Super-resolve ``inputs`` into ``output_dir``; returns the report (also written as ``report.json``).

    ``seed``: image ``k`` uses ``derive_seed(seed, relative path)``, so outputs do
    not depend on batching or sharding. ``tile``: output pixels, ``"auto"`` or
    None. ``bc``: a boundary condition, applied as its ``mode`` says (srkit.infer.bc).
    ``suffix``: appended to each output's file stem (``photo.png`` -> ``photo_x4.png``).
    ``skip_unreadable``: leave unreadable inputs out (status ``"unreadable"`` in the
    report) instead of refusing the run.
    """
    output_dir = Path(output_dir)
    sampler = model.sampler(sampler_cfg)  # resolved and checked once per run, passed down to the loop
    Tiling(None, tile_overlap, batch)  # validates overlap and batch
    settings = RunSettings(
        sampler, seed, bc, output_scale(scale, model.scale), color_fix_by_name(color_fix), parse_tile(tile), tile_overlap, batch, overwrite
    )
    if bc is not None:
        check_bc_for_run(bc, model, sampler)
    shard = shard or current_shard()
    jobs = plan_jobs(inputs, output_dir, ext, suffix)
    jobs, unreadable = preflight(jobs, skip_unreadable)  # every rank checks every input, so all fail together
    mine = shard.take(jobs)
    notify = progress or (lambda kind, info: None)
    if not shard.is_main:
        unreadable = []  # reported once, by rank 0
    for entry in unreadable:
        notify("unreadable", {"name": entry["input"], "error": entry["error"]})
    notify("start", {"images": len(mine)})
    entries = sorted(unreadable + [_upscale_one(job, model, settings, notify) for job in mine], key=lambda e: e["input"])
    report = _report(model, settings, color_fix, entries)
    if len(jobs) == 1 and jobs[0].output == output_dir:
        return report  # OUTPUT is the image file itself: no folder to hold a report.json
    return _finish_report(output_dir, report, shard, str(model.device))


def _upscale_one(job: Job, model: SRModel, settings: RunSettings, notify: Progress) -> dict[str, Any]:
    """Make one output (or skip it) and return its report entry."""
    from srkit.io.discovery import should_skip
    from srkit.io.images import read_image

    name = job.item.relative.as_posix()
    image_seed = derive_seed(settings.seed, name)
    entry: dict[str, Any] = {"input": str(job.item.path), "output": str(job.output), "seed": image_seed}
    if should_skip(job.output, settings.overwrite):
        notify("image", {"name": name, "status": "skipped"})
        return {**entry, "status": "skipped"}
    image = read_image(job.item.path)
    out_h, out_w = round(image.height * settings.scale), round(image.width * settings.scale)
    tile_size = tile_for(settings.tile, model, image.height * model.scale, image.width * model.scale, settings.batch)
    notify("image_start", {"name": name, "size": (image.width, image.height)})
    started = time.perf_counter()
    result = super_resolve_image(
        model,
        image.rgb,
        seed=image_seed,
        sampler=settings.sampler,
        tiling=Tiling(tile_size, settings.overlap, settings.batch),
        bc=settings.bc,
        color_fix=settings.color_fix,
        on_tiles=lambda done, total: notify("tiles", {"name": name, "done": done, "total": total}),
        on_steps=lambda done, total: notify("steps", {"name": name, "done": done, "total": total}),
    )
    _write_output(job, image, result.rgb, out_h, out_w)
    seconds = time.perf_counter() - started
    entry.update(
        status="written",
        input_size=[image.width, image.height],
        output_size=[out_w, out_h],
        mode=image.mode,
        bit_depth=image.bit_depth,
        seconds=round(seconds, 4),
        nfe=result.nfe,
        network_calls=result.network_calls,
        tiles=result.tiles,
        tile_size=[result.tile_size[1], result.tile_size[0]],
    )
    notify("image", {"name": name, "status": "written", "seconds": seconds, "nfe": result.nfe})
    return entry


STATUS_COUNTS = ("written", "skipped", "unreadable")  # report keys: how many entries have each status


def _report(model: SRModel, settings: RunSettings, color_fix: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    written = [e for e in entries if e["status"] == "written"]
    sampler, bc = settings.sampler.config, settings.bc
    return {
        "method": model.recipe.name,
        "model_id": model.model_id,
        "sampler": {"kind": sampler.kind, "steps": sampler.steps, "order": sampler.order, "eta": sampler.eta},
        "seed": settings.seed,
        "scale": settings.scale,
        "color_fix": color_fix,
        "precision": model.precision,
        "device": str(model.device),
        "bc": None if bc is None else {"shape": list(bc.shape), "model_id": bc.model_id, "metric": bc.metric, "mode": bc.mode},
        "images": entries,
        **{status: sum(e["status"] == status for e in entries) for status in STATUS_COUNTS},
        "seconds": round(sum(e["seconds"] for e in written), 4),
    }


def _finish_report(output_dir: Path, report: dict[str, Any], shard: Shard, device: str) -> dict[str, Any]:
    """Write ``report.json`` (rank 0 merges the per-rank reports under torchrun)."""
    if shard.world == 1:
        _write_json(output_dir / REPORT_NAME, report)
        return report
    _write_json(output_dir / f".report.rank{shard.rank}.json", report)
    barrier(shard, device)
    if not shard.is_main:
        return report
    parts = [json.loads((output_dir / f".report.rank{r}.json").read_text()) for r in range(shard.world)]
    merged = {**report, "images": sorted((e for p in parts for e in p["images"]), key=lambda e: e["input"])}
    merged.update(
        {status: sum(p[status] for p in parts) for status in STATUS_COUNTS},
        seconds=round(sum(p["seconds"] for p in parts), 4), processes=shard.world,
    )
    _write_json(output_dir / REPORT_NAME, merged)
    for r in range(shard.world):
        (output_dir / f".report.rank{r}.json").unlink(missing_ok=True)
    return merged

