"""``srkit stability``: G-STD / L-STD of a method over N runs with different noise (CCSR eqs. 4-5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import ColorFixOpt, DebugOpt, DeviceOpt, EventBars, EvalCropBorderOpt, EvalDataOpt, EvalCentreCropOpt, EvalLimitOpt, EvalLrSeedOpt, EvalPrecisionOpt, EvalTileOpt, EvalWeightsDirOpt, JsonOpt, Output, QuietOpt, SeedOpt, WaitOpt, handle_errors, open_evaluation
from srkit.cli.options import EtaOpt, OrderOpt, RecipeOpt, SamplerOpt, SpacingOpt, WeightsOpt, sampler_overrides

HELP = (
    "Measure stability: N SR runs per image (seeds seed..seed+N-1), mean and G-STD of each metric and L-STD. "
    "Example: srkit stability --data val/ --method ccsr --runs 10"
)
DEFAULT_METHOD = "ccsr"


@handle_errors
def command(
    data: EvalDataOpt,
    method: Annotated[Optional[str], typer.Option("--method", "-m", help="Recipe name (see `srkit recipes`); default: the checkpoint's recipe with --weights, else ccsr.")] = None,
    recipe: RecipeOpt = None,
    weights: WeightsOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=2, help="SR runs per image (paper: 10).")] = 10,
    steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Sampling steps (default: the recipe's).")] = None,
    sampler: SamplerOpt = None,
    order: OrderOpt = None,
    eta: EtaOpt = None,
    spacing: SpacingOpt = None,
    fixed_start: Annotated[bool, typer.Option("--fixed-start", help="Every run starts from the same noise (run 0's); only the sampler's own noise varies.")] = False,
    paired_lr: Annotated[Optional[Path], typer.Option("--paired-lr", help="LR folder matching --data by file name.")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Degradation for --data (default: the method's training preset).")] = None,
    metrics: Annotated[str, typer.Option("--metrics", help="Comma list of metrics (see `srkit bench --help`); psnr is always included.")] = "psnr,ssim,lpips",
    limit: EvalLimitOpt = None,
    center_crop: EvalCentreCropOpt = None,
    lr_seed: EvalLrSeedOpt = 0,
    weights_dir: EvalWeightsDirOpt = None,
    crop_border: EvalCropBorderOpt = None,
    tile: EvalTileOpt = "auto",
    color_fix: ColorFixOpt = "auto",
    precision: EvalPrecisionOpt = "fp32",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for per-image CSVs, summary JSON/CSV and best/worst images.")] = None,
    save_best_worst: Annotated[bool, typer.Option("--save-best-worst", help="Save each image's best and worst run (by PSNR) side by side.")] = False,
    wait: WaitOpt = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    output = Output(json_mode=json_out, quiet=quiet)
    from srkit.errors import UsageError
    from srkit.model.color_fix import check_color_fix_name
    from srkit.io.output_folder import hold_output
    from srkit.metrics import parse_metrics

    metric_names = parse_metrics(metrics)
    check_color_fix_name(color_fix)  # a bad name fails before the model loads
    if out is not None:
        hold_output(out, wait=wait)  # writable and locked before the (long) evaluation, not after it
    if save_best_worst and out is None:
        raise UsageError("--save-best-worst needs --out")
    from srkit.bench import run_stability
    from srkit.infer.loading import open_model

    dataset, tile_spec, device_name = open_evaluation(
        output, data, paired_lr=paired_lr, preset=preset, limit=limit, lr_seed=lr_seed, tile=tile, device=device,
        centre_crop=center_crop,
        precision=precision,
        out=out,
    )
    model = open_model(method=method, recipe_path=recipe, weights=weights, device=device_name, precision=precision, default_method=DEFAULT_METHOD)
    sampler_cfg = sampler_overrides(model.recipe.sampler, sampler=sampler, steps=steps, order=order, eta=eta, spacing=spacing)
    with StabilityProgress(output) as progress:
        result = run_stability(
            model, dataset, runs=runs, metrics=metric_names, seed=seed, out_dir=out, save_best_worst=save_best_worst,
            progress=progress, sampler=sampler_cfg, degradation=preset, fixed_start=fixed_start, tile=tile_spec,
            crop_border=crop_border, weights_dir=weights_dir, color_fix=color_fix,
        )
    for name, message in result.unavailable.items():
        output.info(f"{name}: {message}")
    output.result(result.to_dict(), lambda console: render_stability(console, result))


class StabilityProgress(EventBars):
    """A rich bar over images and one over the runs of the current image."""

    def __init__(self, output: Output) -> None:
        super().__init__(output)
        self.images: Any = None
        self.runs: Any = None

    def __call__(self, kind: str, info: dict) -> None:
        if kind == "image_start":
            if self.images is None:
                self.images = self.bar.add_task("images", total=info["total"], info="")
                self.runs = self.bar.add_task("  runs", total=info["runs"], info="")
            self.bar.update(self.images, info=info["name"])
            self.bar.reset(self.runs, total=info["runs"], info="")
        elif kind == "run":
            self.bar.update(self.runs, completed=info["done"])
        elif kind == "image_done":
            self.bar.update(self.images, completed=info["done"], info=f"L-STD {info['l_std']:.4g}")


def render_stability(console: Any, result: Any) -> None:
    """Mean and G-STD per metric, L-STD, and where the files are."""
    from rich.table import Table

    from srkit.bench.tables import display_cell
    from srkit.metrics import METRICS

    title = f"srkit stability: {result.method} ({result.sampler['kind']} x{result.sampler['steps']}), {len(result.per_image)} images x {result.runs} runs"
    table = Table(title=title)
    for column, justify in (("metric", "left"), ("mean", "right"), ("G-STD", "right")):
        table.add_column(column, justify=justify)
    for name in result.metrics:
        entry = result.summary[name]
        mean, spread = (entry, entry) if isinstance(entry, str) else (entry["mean"], entry["g_std"])
        table.add_row(f"{name} {METRICS[name].arrow}", display_cell(mean), display_cell(spread))
    table.add_row("L-STD (pixels in [0, 1])", display_cell(result.l_std), "")
    console.print(table)
    start = "one start noise per image (--fixed-start)" if result.fixed_start else f"seeds {result.seed}..{result.seed + result.runs - 1}"
    console.print(f"{start}; LR from {result.degradation}; on {result.device}", highlight=False)
    for kind, path in result.files.items():
        console.print(f"{kind}: {path}", highlight=False)
