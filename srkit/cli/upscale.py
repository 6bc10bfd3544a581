"""``srkit upscale INPUT OUTPUT``: super-resolve files, folders or globs with any method."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import BcModeOpt, ColorFixOpt, DebugOpt, DeviceOpt, EventBars, JsonOpt, Output, QuietOpt, SeedOpt, WaitOpt, handle_errors
from srkit.cli.options import EtaOpt, MethodOpt, OrderOpt, RecipeOpt, SamplerOpt, SpacingOpt, StepsOpt, TMaxOpt, TMinOpt, WeightsOpt, sampler_for_model
from srkit.devices import resolve_device

HELP = (
    "Super-resolve images. INPUT is a file, a folder (recursive; the tree is mirrored in OUTPUT) or a glob. "
    "Example: srkit upscale in/ out/ --method dossr --steps 5"
)


@handle_errors
def command(
    input: Annotated[str, typer.Argument(help="Image file, folder (recursive) or glob such as 'photos/*.jpg'.")],
    output: Annotated[Path, typer.Argument(help="Output folder (created); a report.json is written there too. With one input file, an image file name (photo_x4.png) is the output file itself.")],
    method: MethodOpt = None,
    recipe: RecipeOpt = None,
    weights: WeightsOpt = None,
    steps: StepsOpt = None,
    sampler: SamplerOpt = None,
    order: OrderOpt = None,
    t_max: TMaxOpt = None,
    t_min: TMinOpt = None,
    eta: EtaOpt = None,
    spacing: SpacingOpt = None,
    bc: Annotated[Optional[str], typer.Option("--bc", help="Boundary condition x_T from `srkit find-bc` (a file, or 'builtin'); needs a deterministic sampler.")] = None,
    bc_mode: BcModeOpt = "mosaic",
    scale: Annotated[Optional[float], typer.Option("--scale", help="Output scale; the model's own factor by default, any other by a final resize.")] = None,
    color_fix: ColorFixOpt = "auto",
    precision: Annotated[str, typer.Option("--precision", help="fp32, bf16 or fp16 (bf16/fp16 are for CUDA; CPU defaults to fp32).")] = "fp32",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Tiles per network call (the tiles of one image run in batches; images run one after another).")] = 1,
    tile: Annotated[str, typer.Option("--tile", help="Tile size in output pixels, 'auto' (from free memory) or 0 for none.")] = "auto",
    tile_overlap: Annotated[int, typer.Option("--tile-overlap", min=0, help="Overlap between tiles in output pixels (Gaussian-blended).")] = 32,
    ext: Annotated[Optional[str], typer.Option("--ext", help="Output format: png, jpg, webp, tif, bmp (default: same as input).")] = None,
    suffix: Annotated[str, typer.Option("--suffix", help="Text added to each output's file name (photo.png -> photo_x4.png with '_x4'); lets OUTPUT be the input folder.")] = "",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them).")] = False,
    skip_unreadable: Annotated[bool, typer.Option("--skip-unreadable", help="Leave out inputs that cannot be read (each named on stderr and in report.json as 'unreadable') instead of refusing the whole run.")] = False,
    wait: WaitOpt = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    from srkit.api import DEFAULT_METHOD
    from srkit.infer.bc import bc_sampler_note, load_bc, resolve_bc_path
    from srkit.infer.distributed import current_shard
    from srkit.infer.loading import open_model, precision_warning
    from srkit.infer.run import RunOptions, UpscaleRun
    from srkit.infer.upscale import output_scale, plan_jobs, upscale
    from srkit.io.output_folder import hold_output
    from srkit.model import model_name

    out = Output(json_mode=json_out, quiet=quiet)
    options = RunOptions.parse(tile=tile, overlap=tile_overlap, batch=batch, color_fix=color_fix)  # fail fast, before loading
    output_scale(scale, 1)
    jobs = plan_jobs(input, output, ext, suffix)  # missing input, empty folder, clashing outputs: fail before the model is loaded
    hold_output(output, wait=wait, source=input)  # writable, locked, stale temporaries removed; removed again on failure
    shard = current_shard()
    device_name = shard.device(resolve_device(device))
    warning = precision_warning(precision, device_name)
    if warning:
        out.info(warning)
    model = open_model(method=method, recipe_path=recipe, weights=weights, device=device_name, precision=precision, default_method=DEFAULT_METHOD)
    sampler_cfg = sampler_for_model(model, sampler=sampler, steps=steps, order=order, eta=eta, t_max=t_max, t_min=t_min, spacing=spacing)
    boundary = load_bc(resolve_bc_path(bc, model_name(model)), mode=bc_mode) if bc is not None else None
    run = UpscaleRun.build(model, sampler=sampler_cfg, bc=boundary, options=options)  # a refused BC says so in one line, before any note
    described = run.describe()
    if described.get("licence") and shard.is_main:  # a released model: its terms travel with every run
        out.info(f"{model_name(model)}: licence {described['licence']}")
    if described.get("preprocess") and shard.is_main:
        out.info(f"{model_name(model)}: preprocessor {described['preprocess']['kind']}, licence {described['preprocess']['licence']}")
    if boundary is not None and run.sampler is not None and run.sampler.config is not None:
        note = bc_sampler_note(boundary, run.sampler.config)
        if note:
            out.info(note)
    with ProgressView(out) as view:
        report = upscale(
            input, output, run=run, seed=seed, scale=scale, ext=ext, suffix=suffix, overwrite=overwrite,
            skip_unreadable=skip_unreadable, progress=view, shard=shard, jobs=jobs,
        )
    if shard.is_main:
        for note in report.get("notes", ()):
            out.info(note)
        out.result(report, lambda console: render_report(console, report, output))



class ProgressView(EventBars):
    """Rich progress fed by ``upscale``'s events: a bar over images, one over the tiles of a tiled image
    (or the sampler steps of an untiled one)."""

    def __init__(self, out: Output) -> None:
        super().__init__(out)
        self.images = None
        self.detail = None
        self.detail_label = ""
        self.tiled = False

    def __call__(self, kind: str, info: dict) -> None:
        if kind == "unreadable":
            self.output.info(f"left out, unreadable: {info['error']}")
        elif kind == "start":
            self.images = self.bar.add_task("images", total=info["images"], info="")
        elif self.images is None:
            return
        elif kind == "image_start":
            self.bar.update(self.images, info=info["name"])
            self.tiled = False
        elif kind == "tiles" and info["total"] > 1:
            self.tiled = True
            self._detail("  tiles", info)
        elif kind == "steps" and not self.tiled:
            self._detail("  steps", info)
        elif kind == "image":
            if self.detail is not None:
                self.bar.remove_task(self.detail)
                self.detail = None
            self.bar.advance(self.images)

    def _detail(self, label: str, info: dict) -> None:
        if self.detail is None or self.detail_label != label:
            if self.detail is not None:
                self.bar.remove_task(self.detail)
            self.detail, self.detail_label = self.bar.add_task(label, total=info["total"], info=""), label
        self.bar.update(self.detail, completed=info["done"], total=info["total"])


def render_report(console, report: dict, output: Path) -> None:
    """A table of the images written (time, NFE, tiles) and a summary line."""
    from rich.table import Table

    table = Table(title=f"srkit upscale: {report['method']} (model {report['model_id']})")
    for column in ("image", "size", "seconds", "NFE", "tiles", "status"):
        table.add_column(column, justify="right" if column in ("seconds", "NFE", "tiles") else "left")
    for entry in report["images"]:
        size = "x".join(map(str, entry.get("output_size", []))) or "-"
        table.add_row(
            Path(entry["output"]).name,
            size,
            f"{entry['seconds']:.2f}" if "seconds" in entry else "-",
            str(entry.get("nfe", "-")),
            str(entry.get("tiles", "-")),
            entry["status"],
        )
    console.print(table)
    unreadable = f", {report['unreadable']} unreadable left out" if report.get("unreadable") else ""
    where = f"report: {output / 'report.json'}" if output.is_dir() else f"output: {output}"
    console.print(f"{report['written']} written, {report['skipped']} skipped{unreadable}; {where}", highlight=False)
