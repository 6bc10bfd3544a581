"""``run_bench``: compare methods, samplers and step counts on one dataset (library form of ``srkit bench``).

Per row: NFE (network calls per sample, as the sampler reports them), parameter
counts of the parts that run, latency, throughput and the mean of every metric
over images and runs. Timing (docs/evaluation.md):

- one untimed warm-up call on the first image per row (lazy initialisation,
  cuDNN autotuning, caches), then every call is timed with the device synchronised;
- ``latency_s``: the median over images of each image's median time over runs;
- ``images_per_s`` and ``mpix_per_s``: timed images (and output megapixels) over
  the total timed seconds: the reciprocal of the *mean* time per image, where
  ``latency_s`` is a *median*; they disagree exactly when a few images (large
  ones, the first of a new size) take much longer than the typical one.

Bicubic upscaling of the same LR is always a baseline row: one per distinct LR
source among the rows (normally one; with each method's own training preset,
rows may see different LR images, and each gets the bicubic row of its LR).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from srkit.bench.dataset import BenchDataset, to_array
from srkit.bench.paths import image_seed, slug, under
from srkit.bench.scoring import MetricMeans, MetricValues, Scorer, metric_device
from srkit.bench.tables import markdown_table, write_csv, write_json, write_text
from srkit.bench.timing import device_name, median_or_nan, timed
from srkit.bench.upscalers import (
    BicubicUpscaler,
    ModelUpscaler,
    Upscaler,
    parameter_text,
)
from srkit.errors import SettingError, UsageError
from srkit.io.preflight import check_images
from srkit.io.images import write_image
from srkit.metrics import METRICS, parse_metrics
from srkit.model import AnyModel, SRModel, model_name

if TYPE_CHECKING:
    from srkit.infer.bc import BoundaryCondition
    from srkit.recipes import SamplerConfig

Progress = Callable[[str, dict[str, Any]], None]
BICUBIC = "bicubic"
FILES = {"csv": "bench.csv", "json": "bench.json", "markdown": "bench.md", "plot": "pd_plot.png"}


@dataclass(frozen=True)
class BenchRow:
    """One row to benchmark: a loaded model, its sampler (None: the recipe's), LR preset (None: the recipe's)
    and boundary condition (None: fresh seeded noise)."""

    label: str
    model: AnyModel
    sampler: "SamplerConfig | None" = None
    degradation: str | None = None
    bc: "BoundaryCondition | None" = None


@dataclass
class RowResult:
    """One row of the table (see docs/evaluation.md for each column)."""

    label: str
    method: str
    sampler: str
    steps: int | None
    order: int | None
    nfe: int
    params: int
    params_detail: str
    degradation: str
    model_id: str
    images: int
    runs: int
    latency_s: float
    images_per_s: float
    mpix_per_s: float
    metrics: MetricValues
    sampler_config: dict[str, Any] = field(default_factory=dict)


#: Fixed columns of the table: (RowResult attribute, header in markdown / the terminal).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("label", "row"),
    ("method", "method"),
    ("sampler", "sampler"),
    ("steps", "steps"),
    ("order", "order"),
    ("nfe", "NFE"),
    ("params", "params"),
    ("params_detail", "params (parts)"),
    ("degradation", "LR"),
    ("images", "images"),
    ("runs", "runs"),
    ("latency_s", "latency s"),
    ("images_per_s", "img/s"),
    ("mpix_per_s", "MP/s"),
    ("model_id", "model id"),
)


@dataclass
class BenchResult:
    """Every row, the run's settings, and the files written (``files``: kind -> path)."""

    rows: list[RowResult]
    metrics: list[str]
    device: str
    seed: int
    runs: int
    images: int
    lr_seed: int
    unavailable: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    centre_crop: int | None = None
    color_fix: str = "auto"

    def header(self, pretty: bool = False) -> list[str]:
        """Column names: attribute names and metric names (``pretty``: display headers with ↑/↓)."""
        fixed = [title if pretty else key for key, title in COLUMNS]
        return fixed + [f"{name} {METRICS[name].arrow}" if pretty else name for name in self.metrics]

    def table(self) -> list[list[Any]]:
        """One list of cells per row, in :meth:`header` order."""
        return [[getattr(row, key) for key, _ in COLUMNS] + [row.metrics.get(name) for name in self.metrics] for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --- rows ------------------------------------------------------------------------------------


def training_degradation(model: AnyModel) -> str:
    """The degradation a model was trained for: its recipe's, a released model's ``degradation``, else bicubic."""
    if isinstance(model, SRModel):
        return model.recipe.data.degradation
    return str(getattr(model, "degradation", "bicubic"))


def _lr_source(dataset: BenchDataset, row: BenchRow) -> str:
    return dataset.source(row.degradation or training_degradation(row.model))


def _bicubic_rows(dataset: BenchDataset, rows: Sequence[BenchRow]) -> list[tuple[str, int, str]]:
    """``(label, scale, LR source)`` of each distinct LR the model rows see, in order of first use."""
    sources = list(dict.fromkeys((row.model.scale, _lr_source(dataset, row)) for row in rows))
    scales = {scale for scale, _ in sources}
    if len(sources) == 1:
        return [(BICUBIC, *sources[0])]
    return [(f"{BICUBIC} ({f'x{scale}, ' if len(scales) > 1 else ''}{source})", scale, source) for scale, source in sources]


def _check_rows(rows: Sequence[BenchRow], runs: int) -> None:
    if not rows:
        raise UsageError("nothing to benchmark: give at least one method row (bicubic is added by itself)")
    if runs < 1:
        raise SettingError("runs", f"must be >= 1, got {runs}")
    labels = [row.label for row in rows]
    repeated = sorted({label for label in labels if labels.count(label) > 1 or label == BICUBIC})
    if repeated:
        raise UsageError(f"row label(s) {', '.join(repeated)} used twice (bicubic is the built-in baseline)")


@dataclass
class _RowRun:
    """What one row needs while it runs."""

    label: str
    upscaler: Upscaler
    source: str
    description: dict[str, Any]


def _describe_model_row(model: AnyModel, upscaler: ModelUpscaler) -> dict[str, Any]:
    bound = upscaler.bound
    parts = upscaler.parameters()
    described = {
        "method": model_name(model),
        "sampler": "-" if bound is None else bound.spec.cli_name,
        "steps": None,
        "order": upscaler.run.sampler_order(),
        "params": sum(parts.values()),
        "params_detail": parameter_text(parts),
        "model_id": model.model_id,
    }
    if bound is not None and bound.config is not None:
        described.update(steps=bound.config.steps, sampler_config=dataclasses.asdict(bound.config))
    return described


def _bicubic_description() -> dict[str, Any]:
    return {"method": BICUBIC, "sampler": "-", "steps": None, "order": None, "params": 0, "params_detail": "-", "model_id": "-"}


def _plan(
    rows: Sequence[BenchRow], dataset: BenchDataset, tile: int | str | None, include_bicubic: bool, device: torch.device,
    color_fix: str = "auto",
    baselines: Sequence[tuple[str, AnyModel]] = (),
) -> list[_RowRun]:
    plan = []
    if include_bicubic:
        for label, scale, source in _bicubic_rows(dataset, rows):
            plan.append(_RowRun(label, BicubicUpscaler(scale, device), source, _bicubic_description()))
        for name, model in baselines:
            for label, scale, source in _bicubic_rows(dataset, rows):
                if scale == model.scale:
                    upscaler = ModelUpscaler(model, None, tile)
                    plan.append(_RowRun(label.replace(BICUBIC, name, 1), upscaler, source, _describe_model_row(model, upscaler)))
    for row in rows:
        upscaler = ModelUpscaler(row.model, row.sampler, tile, bc=row.bc, color_fix=color_fix)
        plan.append(_RowRun(row.label, upscaler, _lr_source(dataset, row), _describe_model_row(row.model, upscaler)))
    return plan


# --- running ---------------------------------------------------------------------------------


@dataclass
class _Timings:
    """Per-image times of the timed calls, and totals for throughput."""

    per_image: list[float] = field(default_factory=list)
    seconds: float = 0.0
    calls: int = 0
    megapixels: float = 0.0

    def add_image(self, times: list[float], megapixels: float) -> None:
        self.per_image.append(median_or_nan(times))
        self.seconds += sum(times)
        self.calls += len(times)
        self.megapixels += megapixels * len(times)


def _run_row(
    run: _RowRun,
    dataset: BenchDataset,
    *,
    scorer: Scorer,
    runs: int,
    seed: int,
    image_dir: Path | None,
    notify: Progress,
) -> RowResult:
    scale = run.upscaler.scale
    means, timings, nfe = MetricMeans(scorer.metrics), _Timings(), 0
    notify("row_start", {"label": run.label, "images": len(dataset), "runs": runs})
    forget = getattr(getattr(getattr(run.upscaler, "model", None), "preprocess", None), "clear", None)
    if forget is not None:  # rows may share one model: each row pays for its own preprocessor output
        forget()
    for index in range(len(dataset)):
        pair = dataset.pair(index, scale=scale, degradation=run.source)
        if index == 0:
            # warm-up, not timed; on the mirrored image, so that no stage's cache (a preprocessor's P) serves the timed call
            run.upscaler(pair.lr.flip(-1), seed=image_seed(seed, 0, pair.name))
        times = []
        for r in range(runs):
            (sr, nfe), seconds = timed(partial(run.upscaler, pair.lr, seed=image_seed(seed, r, pair.name)), run.upscaler.device)
            times.append(seconds)
            means.add(scorer(sr, pair.hr, pair.lr))
            if image_dir is not None and r == 0:
                _save(image_dir, slug(run.label), pair.name, sr)
        timings.add_image(times, sr.shape[-2] * sr.shape[-1] / 1e6)
        notify("image", {"label": run.label, "name": pair.name, "done": index + 1, "total": len(dataset)})
    result = RowResult(
        label=run.label,
        nfe=nfe,
        degradation=run.source,
        images=len(dataset),
        runs=runs,
        latency_s=median_or_nan(timings.per_image),
        images_per_s=timings.calls / timings.seconds if timings.seconds > 0 else float("nan"),
        mpix_per_s=timings.megapixels / timings.seconds if timings.seconds > 0 else float("nan"),
        metrics=means.result(),
        **run.description,
    )
    notify("row_done", {"label": run.label, "row": result})
    return result


def _save(image_dir: Path, folder: str, name: str, image: torch.Tensor) -> None:
    write_image(under(image_dir, folder, name, ".png"), to_array(image))


def _save_lr_inputs(image_dir: Path, dataset: BenchDataset, plan: Sequence[_RowRun]) -> None:
    """The LR images every row saw, under ``images/lr/<source>_x<scale>/`` (to reproduce a row elsewhere)."""
    for scale, source in dict.fromkeys((run.upscaler.scale, run.source) for run in plan):
        folder = f"lr/{slug(source)}_x{scale}"
        for index in range(len(dataset)):
            pair = dataset.pair(index, scale=scale, degradation=source)
            _save(image_dir, folder, pair.name, pair.lr)


def run_bench(
    rows: Sequence[BenchRow],
    dataset: BenchDataset,
    *,
    metrics: Sequence[str],
    runs: int = 1,
    device: str | torch.device = "cpu",
    seed: int = 0,
    out_dir: str | Path | None = None,
    save_images: bool = False,
    progress: Progress | None = None,
    tile: int | str | None = None,
    crop_border: int | None = None,
    weights_dir: str | Path | None = None,
    include_bicubic: bool = True,
    color_fix: str = "auto",
    baselines: Sequence[tuple[str, AnyModel]] = (),
) -> BenchResult:
    """Benchmark ``rows`` (plus the bicubic baseline) on ``dataset``; write the result files when ``out_dir`` is set.

    Run ``r`` of image ``name`` uses seed ``derive_seed(seed + r, name)``. Model rows
    run on their model's device; ``device`` is where the bicubic baseline and the
    learned metrics run (CUDA only; else CPU) and the device the table names.
    ``tile``: output pixels, ``"auto"`` or None (whole images). Metrics that cannot
    run offline are reported unavailable (``result.unavailable``) without failing the run.
    ``color_fix`` (``auto``: each model's own, ``none``, ``wavelet``, ``adain``) applies to the model rows, not to bicubic.
    ``baselines``: ``(name, model)`` pairs of released models (e.g. Real-ESRGAN) shown beside
    bicubic, one row per LR source of their scale (with ``include_bicubic``).
    """
    _check_rows(rows, runs)
    scale = max((row.model.scale for row in rows), default=1)
    check_images([item.path for item in dataset.items], min_side=scale, why=f"the scale {scale}")  # all, before row 1
    names = parse_metrics(",".join(metrics))
    device = torch.device(device)
    notify = progress or (lambda kind, info: None)
    plan = _plan(rows, dataset, tile, include_bicubic, device, color_fix, baselines)
    out = Path(out_dir) if out_dir is not None else None
    image_dir = out / "images" if out is not None and save_images else None
    if image_dir is not None:
        _save_lr_inputs(image_dir, dataset, plan)
    unavailable: dict[str, str] = {}
    results = []
    for run in plan:
        scorer = Scorer(names, run.upscaler.scale, crop_border=crop_border, weights_dir=Path(weights_dir) if weights_dir else None,
                        device=metric_device(device), unavailable=unavailable)
        results.append(_run_row(run, dataset, scorer=scorer, runs=runs, seed=seed, image_dir=image_dir, notify=notify))
    result = BenchResult(results, names, device_name(device), seed, runs, len(dataset),
                         dataset.lr_seed, dict(unavailable), centre_crop=dataset.centre_crop, color_fix=color_fix)
    if out is not None:
        write_bench_files(result, out)
    return result


def write_bench_files(result: BenchResult, out_dir: Path) -> None:
    """``bench.csv``, ``bench.json``, ``bench.md`` and ``pd_plot.png`` (when PSNR and a perceptual metric exist)."""
    from srkit.bench.plot import perception_distortion_plot

    paths = {kind: out_dir / name for kind, name in FILES.items()}
    plot = perception_distortion_plot(paths["plot"], [row.label for row in result.rows], [row.metrics for row in result.rows])
    if plot is None:
        paths.pop("plot")
        result.notes.append("no perception-distortion plot: it needs psnr and a perceptual metric (e.g. lpips) with values")
    result.files = {kind: str(path) for kind, path in paths.items()}
    write_csv(paths["csv"], result.header() + ["device"], [cells + [result.device] for cells in result.table()])
    write_text(paths["markdown"], bench_markdown(result))
    write_json(paths["json"], result.to_dict())


def bench_markdown(result: BenchResult) -> str:
    """The table as GitHub markdown, with the device and run settings underneath."""
    lines = [markdown_table(result.header(pretty=True), result.table())]
    crop = f" (centre {result.centre_crop} px crops)" if result.centre_crop else ""
    fix = f", model rows colour-fixed ({result.color_fix})" if result.color_fix not in ("none", "auto") else ""
    lines.append(
        f"\n{result.images} images{crop} x {result.runs} run(s), seed {result.seed}, LR seed {result.lr_seed}{fix}; "
        f"latency = median seconds per image (warm-up excluded) on {result.device}; images/s = timed images over the "
        f"total timed seconds, i.e. 1 / the mean time, so a few slow images lower it but not the median latency.\n"
    )
    lines += [f"- {name}: {message}\n" for name, message in result.unavailable.items()]
    return "".join(lines)
