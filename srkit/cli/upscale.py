"""``srkit upscale INPUT OUTPUT``: super-resolve files, folders or globs with any method."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, Output, QuietOpt, RecipeOpt, SeedOpt, handle_errors, not_ready

HELP = (
    "Super-resolve images. INPUT is a file, a folder (recursive; the tree is mirrored in OUTPUT) or a glob. "
    "Example: srkit upscale in/ out/ --method dossr --steps 5"
)


@handle_errors
def command(
    input: Annotated[str, typer.Argument(help="Image file, folder (recursive) or glob such as 'photos/*.jpg'.")],
    output: Annotated[Path, typer.Argument(help="Output folder (created); a report.json is written there too.")],
    method: Annotated[str, typer.Option("--method", "-m", help="Recipe name: sr3, sr3-dream, resshift, dossr, ccsr, ... (see `srkit recipes`).")] = "dossr",
    recipe: RecipeOpt = None,
    weights: Annotated[Optional[str], typer.Option("--weights", "-w", help="Checkpoint (.safetensors); default: the method's built-in model.")] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Sampling steps (default: the recipe's). NFE is reported.")] = None,
    sampler: Annotated[Optional[str], typer.Option("--sampler", help="ddpm, ddim, dpm-solver, resshift, dos-sde or ccsr (default: the recipe's).")] = None,
    order: Annotated[Optional[int], typer.Option("--order", help="Solver order 1-3 (DoS-SDE, DPM-Solver++).")] = None,
    t_max: Annotated[Optional[float], typer.Option("--t-max", help="CCSR: start of the truncated interval, fraction of T (paper 2/3).")] = None,
    t_min: Annotated[Optional[float], typer.Option("--t-min", help="CCSR: end of the truncated interval, fraction of T (paper 1/3).")] = None,
    eta: Annotated[Optional[float], typer.Option("--eta", help="DDIM eta (0 = deterministic).")] = None,
    bc: Annotated[Optional[str], typer.Option("--bc", help="Boundary condition x_T from `srkit find-bc` (a file, or 'builtin'); needs a deterministic sampler.")] = None,
    scale: Annotated[Optional[float], typer.Option("--scale", help="Output scale; the model's own factor by default, any other by a final resize.")] = None,
    color_fix: Annotated[str, typer.Option("--color-fix", help="none, wavelet or adain: match the output colours to the input.")] = "none",
    precision: Annotated[str, typer.Option("--precision", help="fp32, bf16 or fp16 (bf16/fp16 are for CUDA; CPU defaults to fp32).")] = "fp32",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Tiles/images per network call.")] = 1,
    tile: Annotated[str, typer.Option("--tile", help="Tile size in output pixels, 'auto' (from free memory) or 0 for none.")] = "auto",
    tile_overlap: Annotated[int, typer.Option("--tile-overlap", min=0, help="Overlap between tiles in output pixels (Gaussian-blended).")] = 32,
    ext: Annotated[Optional[str], typer.Option("--ext", help="Output format: png, jpg, webp, tif, bmp (default: same as input).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (default: skip them).")] = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    not_ready("srkit upscale")
