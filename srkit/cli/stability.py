"""``srkit stability``: G-STD / L-STD of a method over N runs with different noise (CCSR eqs. 4-5)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, QuietOpt, RecipeOpt, SeedOpt, handle_errors, not_ready

HELP = (
    "Measure stability: N SR runs per image (seeds seed..seed+N-1), mean and G-STD of each metric and L-STD. "
    "Example: srkit stability --data val/ --method ccsr --runs 10"
)


@handle_errors
def command(
    data: Annotated[Path, typer.Option("--data", help="HR folder (degraded with --preset) or, with --paired-lr, the HR folder.")],
    method: Annotated[str, typer.Option("--method", "-m", help="Recipe name (see `srkit recipes`).")] = "ccsr",
    recipe: RecipeOpt = None,
    weights: Annotated[Optional[str], typer.Option("--weights", "-w", help="Checkpoint; default: the method's built-in model.")] = None,
    runs: Annotated[int, typer.Option("--runs", min=2, help="SR runs per image (paper: 10).")] = 10,
    steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Sampling steps (default: the recipe's).")] = None,
    sampler: Annotated[Optional[str], typer.Option("--sampler", help="Sampler (default: the recipe's).")] = None,
    paired_lr: Annotated[Optional[Path], typer.Option("--paired-lr", help="LR folder matching --data by file name.")] = None,
    preset: Annotated[Optional[str], typer.Option("--preset", help="Degradation for --data (default: the method's training preset).")] = None,
    metrics: Annotated[str, typer.Option("--metrics", help="Comma list of metrics (see `srkit bench --help`).")] = "psnr,ssim,lpips",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N images.")] = None,
    weights_dir: Annotated[Optional[Path], typer.Option("--weights-dir", help="Extra folder to look for metric weights.")] = None,
    tile: Annotated[str, typer.Option("--tile", help="Tile size for large images, 'auto' or 0.")] = "auto",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder for per-image CSVs, summary JSON/CSV and best/worst images.")] = None,
    save_best_worst: Annotated[bool, typer.Option("--save-best-worst", help="Save each image's best and worst run (by PSNR) side by side.")] = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    not_ready("srkit stability")
