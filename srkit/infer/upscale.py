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

from srkit.errors import InputError, SettingError, UsageError
from srkit.infer.bc import BoundaryCondition
from srkit.infer.distributed import Shard, barrier, current_shard
from srkit.infer.resize import resize_array
from srkit.infer.run import TileSpec, UpscaleRun, parse_tile
from srkit.infer.seeding import derive_seed
from srkit.io.atomic import atomic_path, check_folder_path
from srkit.io.discovery import (
    find_images,
    output_file_for,
    output_paths,
    should_skip,
    without_own_outputs,
)
from srkit.io.formats import alpha_notes, format_for_path
from srkit.io.images import Image, read_image, write_image
from srkit.model import AnyModel
from srkit.recipes import SamplerConfig

REPORT_NAME = "report.json"
STATUS_COUNTS = ("written", "skipped", "unreadable")  # report keys: how many entries have each status
Progress = Callable[[str, dict[str, Any]], None]
__all__ = ["REPORT_NAME", "Job", "RunSettings", "TileSpec", "UpscaleRun", "output_scale", "parse_tile", "plan_jobs", "preflight", "upscale"]


@dataclass(frozen=True)
class RunSettings:
    """How every image of one ``upscale`` call is made: the validated run, the seed, the output scale."""

    run: UpscaleRun
    seed: int
    scale: float
    overwrite: bool


@dataclass(frozen=True)
class Job:
    """One image to make: where it comes from and where it goes."""

    item: Any  # srkit.io.discovery.InputItem
    output: Path


def output_scale(value: float | None, model_scale: int) -> float:
    """The final output scale: the model's own unless ``--scale`` asks for another (> 0)."""
    if value is None:
        return float(model_scale)
    if not value > 0:
        raise SettingError("scale", f"must be > 0, got {value}")
    return float(value)


def plan_jobs(inputs: str | Path | Sequence[Any], output_dir: Path, ext: str | None, suffix: str = "") -> list[Job]:
    """Find the input images and their mirrored output paths (one-line errors for missing/clashing ones).

    One input file with an image-file OUTPUT (``photo.jpg -> photo_x4.png``) is written to exactly that file.

    Files that are this run's own outputs (an output folder inside the input folder, or ``suffix``
    outputs written next to their inputs) are not inputs.
    """
    items = find_images(inputs) if isinstance(inputs, (str, Path)) else list(inputs)
    target = output_file_for(inputs, output_dir) if isinstance(inputs, (str, Path)) else None
    if target is not None:
        if ext or suffix:
            raise UsageError(f"an extension or suffix names outputs in a folder; the output {target} already names the file")
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


def _write_output(job: Job, image: Any, rgb: Any, out_h: int, out_w: int) -> bool:
    """Resize to the requested size if needed and write in the input's layout (alpha dropped if the format has none;
    returns whether it was)."""
    rgb = resize_array(rgb, out_h, out_w)
    alpha, mode = image.alpha, image.mode
    fmt = format_for_path(job.output)
    if alpha is not None and fmt is not None and not fmt.alpha:
        alpha, mode = None, "grey" if mode == "grey_alpha" else "rgb"
    if alpha is not None:
        alpha = resize_array(alpha, out_h, out_w)
    write_image(job.output, Image(rgb=rgb, alpha=alpha, bit_depth=image.bit_depth, mode=mode))
    return alpha is None and image.alpha is not None


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def upscale(
    inputs: str | Path | Sequence[Any],
    output_dir: str | Path,
    *,
    model: AnyModel | None = None,
    run: UpscaleRun | None = None,
    sampler_cfg: SamplerConfig | None = None,
    seed: int = 0,
    bc: BoundaryCondition | None = None,
    scale: float | None = None,
    color_fix: str = "auto",
    tile: TileSpec = "auto",
    tile_overlap: int = 32,
    batch: int = 1,
    ext: str | None = None,
    suffix: str = "",
    overwrite: bool = False,
    skip_unreadable: bool = False,
    progress: Progress | None = None,
    shard: Shard | None = None,
    jobs: Sequence[Job] | None = None,
) -> dict[str, Any]:
    """Super-resolve ``inputs`` into ``output_dir``; returns the report (also written as ``report.json``).

    Pass a ``model`` and the run's settings (``sampler_cfg``, ``bc``, ``color_fix``,
    ``tile``, ``tile_overlap``, ``batch``), or a ``run`` already built with
    :meth:`UpscaleRun.build` (then those are not used). ``seed``: image ``k`` uses
    ``derive_seed(seed, relative path)``, so outputs do not depend on batching or
    sharding. ``suffix``: appended to each output's file stem (``photo.png`` ->
    ``photo_x4.png``). ``skip_unreadable``: leave unreadable inputs out (status
    ``"unreadable"`` in the report) instead of refusing the run. ``jobs``: the
    result of :func:`plan_jobs` when the caller planned already (the tree is walked once).
    """
    output_dir = Path(output_dir)
    if run is None:
        if model is None:
            raise UsageError("upscale needs a model or a run")
        run = UpscaleRun.build(model, sampler=sampler_cfg, tile=tile, overlap=tile_overlap, batch=batch, color_fix=color_fix, bc=bc)
    settings = RunSettings(run, seed, output_scale(scale, run.model.scale), overwrite)
    shard = shard or current_shard()
    jobs = list(jobs) if jobs is not None else plan_jobs(inputs, output_dir, ext, suffix)
    jobs, unreadable = preflight(jobs, skip_unreadable)  # every rank checks every input, so all fail together
    mine = shard.take(jobs)
    notify = progress or (lambda kind, info: None)
    if not shard.is_main:
        unreadable = []  # reported once, by rank 0
    for entry in unreadable:
        notify("unreadable", {"name": entry["input"], "error": entry["error"]})
    notify("start", {"images": len(mine)})
    entries = sorted(unreadable + [_upscale_one(job, settings, notify) for job in mine], key=lambda e: e["input"])
    report = _report(settings, entries)
    if len(jobs) == 1 and jobs[0].output == output_dir:
        return report  # OUTPUT is the image file itself: no folder to hold a report.json
    return _finish_report(output_dir, report, shard, str(run.model.device))


def _upscale_one(job: Job, settings: RunSettings, notify: Progress) -> dict[str, Any]:
    """Make one output (or skip it) and return its report entry."""
    run = settings.run
    name = job.item.relative.as_posix()
    image_seed = derive_seed(settings.seed, name)
    entry: dict[str, Any] = {"input": str(job.item.path), "output": str(job.output), "seed": image_seed}
    if should_skip(job.output, settings.overwrite):
        notify("image", {"name": name, "status": "skipped"})
        return {**entry, "status": "skipped"}
    image = read_image(job.item.path)
    out_h, out_w = round(image.height * settings.scale), round(image.width * settings.scale)
    notify("image_start", {"name": name, "size": (image.width, image.height)})
    started = time.perf_counter()
    result = run.super_resolve(
        image.rgb,
        seed=image_seed,
        on_tiles=lambda done, total: notify("tiles", {"name": name, "done": done, "total": total}),
        on_steps=lambda done, total: notify("steps", {"name": name, "done": done, "total": total}),
    )
    alpha_dropped = _write_output(job, image, result.rgb, out_h, out_w)
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
        **({"alpha_dropped": True} if alpha_dropped else {}),
    )
    notify("image", {"name": name, "status": "written", "seconds": seconds, "nfe": result.nfe})
    return entry


def _report(settings: RunSettings, entries: list[dict[str, Any]]) -> dict[str, Any]:
    written = [e for e in entries if e["status"] == "written"]
    described = settings.run.describe()
    return {
        "method": described["method"],
        "model_id": described["model_id"],
        "sampler": described["sampler"],
        "seed": settings.seed,
        "scale": settings.scale,
        "color_fix": described["color_fix"],
        "precision": described["precision"],
        "device": described["device"],
        "bc": described["bc"],
        **({"licence": described["licence"]} if "licence" in described else {}),
        **({"preprocess": described["preprocess"]} if "preprocess" in described else {}),
        "images": entries,
        **{status: sum(e["status"] == status for e in entries) for status in STATUS_COUNTS},
        "seconds": round(sum(e["seconds"] for e in written), 4),
        "notes": alpha_notes(written),
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

