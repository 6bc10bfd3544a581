"""``srkit bench``: compare methods, samplers and step counts on one dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import BcModeOpt, ColorFixOpt, DebugOpt, DeviceOpt, EventBars, EvalCropBorderOpt, EvalDataOpt, EvalCentreCropOpt, EvalLimitOpt, EvalLrSeedOpt, EvalPrecisionOpt, EvalTileOpt, EvalWeightsDirOpt, JsonOpt, Output, QuietOpt, SeedOpt, WaitOpt, handle_errors, open_evaluation

if TYPE_CHECKING:
    from srkit.bench.specs import MethodSpec
    from srkit.infer.bc import BoundaryCondition
    from srkit.model import AnyModel
    from srkit.recipes import SamplerConfig

HELP = (
    "Benchmark methods on one dataset: NFE, parameters, latency, throughput and metrics per row, bicubic always "
    "included. Example: srkit bench --data val/ --methods dossr:5 resshift:15 sr3:100 ccsr:15 --out bench/"
)
DEFAULT_METHODS = ["dossr:5", "resshift:15", "ccsr:15", "sr3:100"]
TERMINAL_HIDDEN = frozenset({"params (parts)", "model id", "images", "runs"})


@handle_errors
def command(
    data: EvalDataOpt,
    methods: Annotated[Optional[List[str]], typer.Option("--methods", help="Rows as METHOD[:STEPS[:SAMPLER[:ORDER]]], e.g. dossr:5 sr3:20:dpm-solver:2; repeat, or list them after --methods. Default: dossr:5 resshift:15 ccsr:15 sr3:100.")] = None,
    more_methods: Annotated[Optional[List[str]], typer.Argument(metavar="METHOD", help="More rows, as in --methods (so `--methods dossr:5 resshift:15` works unquoted).", show_default=False)] = None,
    weights: Annotated[Optional[List[str]], typer.Option("--weights", "-w", help="METHOD=FILE: the checkpoint of a method (repeat per method); default: its built-in model.")] = None,
    paired_lr: Annotated[Optional[Path], typer.Option("--paired-lr", help="LR folder matching --data by file name (no degradation then).")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Degradation for --data (default: each method's own training preset).")] = None,
    metrics: Annotated[str, typer.Option("--metrics", help="Comma list: psnr,ssim,psnr_rgb,ssim_rgb,lpips,lpips_vgg,dists,niqe,brisque,musiq,clipiqa,maniqa,topiq,topiq_fr,consistency.")] = "psnr,ssim,lpips,dists,consistency",
    runs: Annotated[int, typer.Option("--runs", min=1, help="Runs per image with seeds seed..seed+runs-1 (metrics averaged).")] = 1,
    limit: EvalLimitOpt = None,
    center_crop: EvalCentreCropOpt = None,
    lr_seed: EvalLrSeedOpt = 0,
    weights_dir: EvalWeightsDirOpt = None,
    crop_border: EvalCropBorderOpt = None,
    tile: EvalTileOpt = "auto",
    bc_mode: BcModeOpt = "mosaic",
    color_fix: ColorFixOpt = "auto",
    realesrgan: Annotated[Optional[bool], typer.Option("--realesrgan/--no-realesrgan", help="Real-ESRGAN x4plus baseline row beside bicubic (x4 rows). Default: shown when it is available in this installation.")] = None,
    precision: EvalPrecisionOpt = "fp32",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for CSV, JSON, markdown table and the perception-distortion plot.")] = None,
    save_images: Annotated[bool, typer.Option("--save-images", help="Also save every SR output (run 0) and the LR inputs under --out/images.")] = False,
    wait: WaitOpt = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    output = Output(json_mode=json_out, quiet=quiet)
    from srkit.bench.specs import parse_method_specs
    from srkit.errors import UsageError
    from srkit.model.color_fix import check_color_fix_name
    from srkit.io.output_folder import hold_output
    from srkit.metrics import parse_metrics

    specs = [spec for spec in parse_method_specs([*(methods or []), *(more_methods or [])] or DEFAULT_METHODS) if spec.method != "bicubic"]
    metric_names = parse_metrics(metrics)
    check_color_fix_name(color_fix)  # a bad name fails before any model loads
    checkpoints = parse_weights(weights or [], {spec.method for spec in specs})
    if not specs:
        raise UsageError("--methods needs at least one method besides bicubic (bicubic is always a row)")
    if out is not None:
        hold_output(out, wait=wait)  # writable and locked before the (long) evaluation, not after it
    if save_images and out is None:
        raise UsageError("--save-images needs --out")
    from srkit.bench import BenchRow, run_bench

    dataset, tile_spec, device_name = open_evaluation(
        output, data, paired_lr=paired_lr, preset=preset, limit=limit, lr_seed=lr_seed, tile=tile, device=device,
        centre_crop=center_crop,
        precision=precision,
        out=out,
    )
    rows = [
        BenchRow(spec.label, model, sampler, preset, bc=row_bc(spec, model, bc_mode))
        for spec, model, sampler in load_rows(specs, checkpoints, device_name, precision)
    ]
    baselines = realesrgan_baseline(realesrgan, rows, device_name, precision)
    with BenchProgress(output) as progress:
        result = run_bench(
            rows, dataset, metrics=metric_names, runs=runs, device=device_name, seed=seed, out_dir=out,
            save_images=save_images, progress=progress, tile=tile_spec, crop_border=crop_border, weights_dir=weights_dir,
            color_fix=color_fix, baselines=baselines,
        )
    for name, message in result.unavailable.items():
        output.info(f"{name}: {message}")
    for note in result.notes:
        output.info(note)
    output.result(result.to_dict(), lambda console: render_bench(console, result))


def parse_weights(values: List[str], methods: set[str]) -> dict[str, str]:
    """``["dossr=a.safetensors", ...]`` -> ``{"dossr": "a.safetensors"}``; each key must be a method of the rows."""
    from srkit.errors import UsageError

    checkpoints: dict[str, str] = {}
    for value in values:
        method, sep, path = value.partition("=")
        if not sep or not method.strip() or not path.strip():
            raise UsageError(f"--weights '{value}' must be METHOD=FILE, e.g. --weights dossr=runs/dossr/final.safetensors")
        if method.strip() not in methods:
            raise UsageError(f"--weights names '{method.strip()}', which is not a method of --methods ({', '.join(sorted(methods))})")
        checkpoints[method.strip()] = path.strip()
    return checkpoints


def row_bc(spec: "MethodSpec", model: "AnyModel", mode: str) -> "BoundaryCondition | None":
    """The built-in boundary condition of a ``+bc`` row (the upscaler checks that it fits)."""
    if not spec.bc:
        return None
    from srkit.infer.bc import load_bc, resolve_bc_path
    from srkit.model import model_name

    return load_bc(resolve_bc_path("builtin", model_name(model)), mode=mode)


def realesrgan_baseline(wanted: bool | None, rows: list, device: str, precision: str) -> "list[tuple[str, AnyModel]]":
    """The Real-ESRGAN x4plus baseline row beside bicubic: when asked for (an error if unavailable), or when available."""
    from srkit.errors import UsageError
    from srkit.infer.loading import load_realesrgan

    if wanted is False or any(row.label == "realesrgan" for row in rows) or not any(row.model.scale == 4 for row in rows):
        return []
    try:
        return [("realesrgan", load_realesrgan(device, precision))]
    except UsageError:
        if wanted:
            raise
        return []


def load_rows(
    specs: "list[MethodSpec]", checkpoints: dict[str, str], device: str, precision: str
) -> "list[tuple[MethodSpec, AnyModel, SamplerConfig | None]]":
    """``(spec, model, sampler)`` per row; models are loaded once per method. Missing built-in weights fail first, in one line."""
    from srkit.bench.specs import sampler_for
    from srkit.errors import WeightsError
    from srkit.infer.loading import RELEASED_METHODS, load_realesrgan
    from srkit.model import load_model
    from srkit.recipes import load_recipe
    from srkit.weights.builtin import builtin_weights_path

    recipes = {spec.method: load_recipe(spec.method) for spec in specs if spec.method not in checkpoints and spec.method not in RELEASED_METHODS}
    missing = []
    for method in recipes:
        try:
            builtin_weights_path(method)
        except WeightsError:
            missing.append(method)
    if missing:
        hint = " ".join(f"--weights {m}=FILE" for m in missing)
        raise WeightsError(f"no built-in weights are shipped for {', '.join(missing)}: train them with `srkit train` and pass {hint}")
    def load(method: str) -> "AnyModel":
        if method in RELEASED_METHODS and method not in checkpoints:
            return load_realesrgan(device, precision)
        return load_model(checkpoints.get(method), recipe=recipes.get(method), device=device, precision=precision)

    models = {method: load(method) for method in dict.fromkeys(spec.method for spec in specs)}
    return [(spec, models[spec.method], sampler_for(spec, _recipe_sampler(models[spec.method]))) for spec in specs]


def _recipe_sampler(model: "AnyModel") -> "SamplerConfig | None":
    recipe = getattr(model, "recipe", None)
    return None if recipe is None else recipe.sampler


class BenchProgress(EventBars):
    """One rich progress bar per row, fed by run_bench's events."""

    def __init__(self, output: Output) -> None:
        super().__init__(output)
        self.tasks: dict[str, Any] = {}

    def __call__(self, kind: str, info: dict) -> None:
        if kind == "row_start":
            self.tasks[info["label"]] = self.bar.add_task(info["label"], total=info["images"], info="")
        elif kind == "image":
            self.bar.update(self.tasks[info["label"]], completed=info["done"], info=info["name"])
        elif kind == "row_done":
            row = info["row"]
            self.bar.update(self.tasks[info["label"]], info=f"{row.latency_s:.3g} s/image, NFE {row.nfe}")


def render_bench(console: Any, result: Any) -> None:
    """The benchmark table (metric headers with ↑/↓; the parts column and model ids are in the files), the device, the files."""
    from rich.table import Table

    from srkit.bench.tables import display_cell

    table = Table(title=f"srkit bench: {result.images} images x {result.runs} run(s), seed {result.seed}")
    header, cells = result.header(pretty=True), result.table()
    shown = [i for i, name in enumerate(header) if name not in TERMINAL_HIDDEN]
    for i in shown:
        numeric = any(isinstance(row[i], (int, float)) for row in cells)
        table.add_column(header[i], justify="right" if numeric else "left")
    for row in cells:
        table.add_row(*[display_cell(row[i]) for i in shown])
    console.print(table)
    console.print(f"latency: median seconds per image, warm-up excluded, on {result.device}", highlight=False)
    for kind, path in result.files.items():
        console.print(f"{kind}: {path}", highlight=False)
