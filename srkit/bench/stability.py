"""``run_stability``: how much an SR method's output changes with the noise (CCSR, Sun et al. 2024, eqs. 4-5).

Every image is super-resolved ``runs`` times, run ``i`` with the seed
``derive_seed(seed + i, name)`` (what ``srkit upscale --seed seed+i`` uses), from
one fixed LR. For M images and N runs:

- ``G-STD(metric) = mean_j std_i metric_ij`` (population std over runs, then the mean over images), eq. (4);
- ``L-STD = mean_j mean_{c,h,w} std_i x_ij[c,h,w]`` on pixels in [0, 1], eq. (5).

Memory: one image at a time; the pixel std is accumulated run by run
(:class:`srkit.metrics.RunningStd`) and only the best and worst run (by PSNR)
are kept, for the side-by-side picture.

``fixed_start=True`` starts every run from the same start noise (run 0's) and
varies only the noise the sampler adds along the way: a deterministic sampler
(DDIM with eta 0, DPM-Solver++) then gives L-STD 0 exactly, which isolates
the stochasticity of the sampler from that of the start.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import Tensor

from srkit.bench.dataset import BenchDataset, Pair, to_array
from srkit.bench.paths import image_seed, under
from srkit.bench.scoring import MetricValues, Scorer, metric_device
from srkit.bench.tables import write_csv, write_json
from srkit.bench.timing import device_name
from srkit.bench.upscalers import ModelUpscaler
from srkit.errors import SettingError, UsageError
from srkit.io.preflight import check_images
from srkit.infer.bc import BoundaryCondition
from srkit.infer.pipeline import alignment
from srkit.infer.seeding import NoiseField
from srkit.io.images import write_image
from srkit.metrics import RunningStd, g_std, image_l_std, parse_metrics

if TYPE_CHECKING:
    from srkit.infer.bc import BoundaryCondition
    from srkit.model import SRModel
    from srkit.recipes import SamplerConfig

Progress = Callable[[str, dict[str, Any]], None]
RANKING_METRIC = "psnr"
ALL_IMAGES = "all"
FILES = {"json": "stability.json", "csv": "stability.csv"}


@dataclass
class ImageStability:
    """One image: each run's seed and metrics, its L-STD term, and its best and worst run by PSNR."""

    name: str
    seeds: list[int]
    runs: list[MetricValues]
    l_std: float
    best_run: int
    worst_run: int

    def metric_values(self, name: str) -> list[float] | str:
        """The metric over runs, or its unavailability message."""
        values = [run[name] for run in self.runs]
        text = next((v for v in values if isinstance(v, str)), None)
        return text if text is not None else [float(v) for v in values]


@dataclass
class StabilityResult:
    """Summary (mean and G-STD per metric, L-STD) and every image's runs (``per_image``)."""

    method: str
    model_id: str
    sampler: dict[str, Any]
    runs: int
    seed: int
    fixed_start: bool
    degradation: str
    lr_seed: int
    device: str
    metrics: list[str]
    summary: dict[str, dict[str, float] | str]
    l_std: float
    per_image: list[ImageStability]
    unavailable: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    centre_crop: int | None = None
    color_fix: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- one image -------------------------------------------------------------------------------


def fixed_start_bc(model: "SRModel", lr: Tensor, seed: int) -> "BoundaryCondition":
    """The start noise of ``seed`` over the whole (alignment-padded) image, as a boundary condition for every run."""
    align = alignment(model)
    height, width = (-(-side // align) * align for side in lr.shape[-2:])
    _, channels, state_h, state_w = model.start_shape((1, 3, height, width))
    x_T = NoiseField(seed, channels, state_h, state_w).full()
    return BoundaryCondition(x_T=x_T, model_id=model.model_id, recipe=model.recipe.name, sampler="fixed-start", steps=0)


@dataclass
class _Extremes:
    """The best and worst run by PSNR seen so far (index, score, image)."""

    best: tuple[int, float, Tensor | None] = (-1, -math.inf, None)
    worst: tuple[int, float, Tensor | None] = (-1, math.inf, None)

    def add(self, run: int, score: float, image: Tensor, keep: bool) -> None:
        if score > self.best[1]:
            self.best = (run, score, image if keep else None)
        if score < self.worst[1]:
            self.worst = (run, score, image if keep else None)


def _one_image(
    pair: Pair,
    upscaler: ModelUpscaler,
    scorer: Scorer,
    *,
    runs: int,
    seed: int,
    fixed_start: bool,
    keep_images: bool,
    notify: Progress,
) -> tuple[ImageStability, _Extremes]:
    pixels, extremes = RunningStd(), _Extremes()
    seeds = [image_seed(seed, i, pair.name) for i in range(runs)]
    bc = fixed_start_bc(upscaler.model, pair.lr, seeds[0]) if fixed_start else None
    values: list[MetricValues] = []
    for i, run_seed in enumerate(seeds):
        sr, _ = upscaler(pair.lr, seed=run_seed, bc=bc)
        pixels.add(sr[0])
        values.append(scorer(sr, pair.hr, pair.lr))
        extremes.add(i, float(values[-1][RANKING_METRIC]), sr, keep_images)
        notify("run", {"name": pair.name, "done": i + 1, "total": runs})
    image = ImageStability(pair.name, seeds, values, image_l_std(pixels), extremes.best[0], extremes.worst[0])
    return image, extremes


# --- summary ---------------------------------------------------------------------------------


def _summary(images: Sequence[ImageStability], metrics: Sequence[str]) -> dict[str, dict[str, float] | str]:
    """Per metric: the mean over all runs and images and the G-STD of eq. (4), or the unavailability message."""
    out: dict[str, dict[str, float] | str] = {}
    for name in metrics:
        columns = [image.metric_values(name) for image in images]
        text = next((c for c in columns if isinstance(c, str)), None)
        if text is not None:
            out[name] = text
            continue
        table = np.array(columns, dtype=np.float64).T  # (runs, images)
        out[name] = {"mean": float(table.mean()), "g_std": g_std(table)}
    return out


def _per_image_row(image: ImageStability, metrics: Sequence[str]) -> list[Any]:
    cells: list[Any] = [image.name, image.l_std]
    for name in metrics:
        values = image.metric_values(name)
        cells += [values, values] if isinstance(values, str) else [float(np.mean(values)), float(np.std(values))]
    return cells + [image.best_run, image.worst_run]


def summary_table(result: StabilityResult) -> tuple[list[str], list[list[Any]]]:
    """``stability.csv``: one row per image (mean and std over runs) and an ``all`` row (mean, G-STD, L-STD)."""
    header = ["image", "l_std"] + [f"{name}_{stat}" for name in result.metrics for stat in ("mean", "std")] + ["best_run", "worst_run"]
    rows = [_per_image_row(image, result.metrics) for image in result.per_image]
    total: list[Any] = [ALL_IMAGES, result.l_std]
    for name in result.metrics:
        entry = result.summary[name]
        total += [entry, entry] if isinstance(entry, str) else [entry["mean"], entry["g_std"]]
    return header, rows + [total + ["", ""]]


# --- files -----------------------------------------------------------------------------------


def _write_image_files(out: Path, image: ImageStability, extremes: _Extremes, metrics: Sequence[str], save_best_worst: bool) -> None:
    """``per_image/<name>.csv`` (each run's seed and metrics) and ``best_worst/<name>.png`` (best | worst)."""
    rows = [[i, image.seeds[i]] + [run[name] for name in metrics] for i, run in enumerate(image.runs)]
    write_csv(under(out, "per_image", image.name, ".csv"), ["run", "seed", *metrics], rows)
    if save_best_worst and extremes.best[2] is not None and extremes.worst[2] is not None:
        best, worst = to_array(extremes.best[2]), to_array(extremes.worst[2])
        gap = np.ones((best.shape[0], max(4, best.shape[1] // 64), 3), np.float32)
        write_image(under(out, "best_worst", image.name, ".png"), np.concatenate([best, gap, worst], axis=1))


def write_stability_files(result: StabilityResult, out_dir: Path) -> None:
    """``stability.json`` and ``stability.csv`` (per-image files are written as the images finish)."""
    paths = {kind: out_dir / name for kind, name in FILES.items()}
    result.files = {**{kind: str(path) for kind, path in paths.items()}, **result.files}
    write_csv(paths["csv"], *summary_table(result))
    write_json(paths["json"], result.to_dict())


# --- entry point -----------------------------------------------------------------------------


def run_stability(
    model: "SRModel",
    dataset: BenchDataset,
    *,
    runs: int = 10,
    metrics: Sequence[str] = ("psnr", "ssim", "lpips"),
    seed: int = 0,
    out_dir: str | Path | None = None,
    save_best_worst: bool = False,
    progress: Progress | None = None,
    sampler: "SamplerConfig | None" = None,
    degradation: str | None = None,
    fixed_start: bool = False,
    tile: int | str | None = None,
    crop_border: int | None = None,
    weights_dir: str | Path | None = None,
    color_fix: str = "auto",
) -> StabilityResult:
    """Super-resolve each image ``runs`` times and measure mean, G-STD and L-STD (module docstring).

    ``degradation``: LR preset for an HR-only dataset (default: the recipe's
    training preset). PSNR is always computed: it ranks the best and worst run.
    """
    if runs < 2:
        raise SettingError("runs", f"must be >= 2 to measure a spread, got {runs}")
    if save_best_worst and out_dir is None:
        raise UsageError("saving the best and worst runs needs an output folder")
    names = parse_metrics(",".join([RANKING_METRIC, *metrics]))
    sampler_cfg = sampler or model.recipe.sampler
    upscaler = ModelUpscaler(model, sampler_cfg, tile, color_fix=color_fix)
    source = dataset.source(degradation or model.recipe.data.degradation)
    unavailable: dict[str, str] = {}
    scorer = Scorer(names, model.scale, crop_border=crop_border, weights_dir=Path(weights_dir) if weights_dir else None,
                    device=metric_device(model.device), unavailable=unavailable)
    out = Path(out_dir) if out_dir is not None else None
    check_images([item.path for item in dataset.items], min_side=model.scale, why=f"the scale {model.scale}")  # all, before run 1
    notify = progress or (lambda kind, info: None)
    images = []
    for index in range(len(dataset)):
        pair = dataset.pair(index, scale=model.scale, degradation=source)
        notify("image_start", {"name": pair.name, "index": index, "total": len(dataset), "runs": runs})
        image, extremes = _one_image(pair, upscaler, scorer, runs=runs, seed=seed, fixed_start=fixed_start,
                                     keep_images=save_best_worst, notify=notify)
        if out is not None:
            _write_image_files(out, image, extremes, names, save_best_worst)
        images.append(image)
        notify("image_done", {"name": pair.name, "done": index + 1, "total": len(dataset), "l_std": image.l_std})
    result = StabilityResult(
        method=model.recipe.name,
        model_id=model.model_id,
        sampler=dataclasses.asdict(sampler_cfg),
        runs=runs,
        seed=seed,
        fixed_start=fixed_start,
        degradation=source,
        lr_seed=dataset.lr_seed,
        device=device_name(model.device),
        metrics=names,
        summary=_summary(images, names),
        l_std=float(np.mean([image.l_std for image in images])),
        per_image=images,
        unavailable=dict(unavailable),
        centre_crop=dataset.centre_crop,
        color_fix=color_fix,
    )
    if out is not None:
        result.files = {"per_image": str(out / "per_image")}
        if save_best_worst:
            result.files["best_worst"] = str(out / "best_worst")
        write_stability_files(result, out)
    return result
