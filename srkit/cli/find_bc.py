"""``srkit find-bc``: Monte-Carlo search of one shared x_T for a deterministic sampler (optimal-BC, eq. 20)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, QuietOpt, RecipeOpt, SeedOpt, handle_errors, not_ready

HELP = (
    "Find an optimal boundary condition: score K candidate x_T on R reference pairs with a deterministic "
    "sampler and keep the best. Example: srkit find-bc --ref 300 --candidates 1000 --hr-dir photos/"
)


@handle_errors
def command(
    method: Annotated[str, typer.Option("--method", "-m", help="Recipe name of the model (see `srkit recipes`).")] = "sr3",
    recipe: RecipeOpt = None,
    weights: Annotated[Optional[str], typer.Option("--weights", "-w", help="Checkpoint (.safetensors); default: the method's built-in model.")] = None,
    ref: Annotated[Optional[int], typer.Option("--ref", min=1, help="Number R of reference pairs (paper: 300).")] = None,
    candidates: Annotated[Optional[int], typer.Option("--candidates", min=1, help="Number K of candidate x_T (paper: 1000).")] = None,
    ref_dir: Annotated[Optional[Path], typer.Option("--ref-dir", help="Paired references: a folder with hr/ and lr/ subfolders.")] = None,
    hr_dir: Annotated[Optional[Path], typer.Option("--hr-dir", help="HR photos; references are made with the recipe's degradation.")] = None,
    crop: Annotated[Optional[int], typer.Option("--crop", min=8, help="HR crop size of the references (the BC's size).")] = None,
    sampler: Annotated[Optional[str], typer.Option("--sampler", help="Deterministic sampler: ddim or dpm-solver.")] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Sampler steps (paper: DDIM-50, DPM-Solver-20).")] = None,
    order: Annotated[Optional[int], typer.Option("--order", min=1, max=3, help="DPM-Solver++ order.")] = None,
    metric: Annotated[Optional[str], typer.Option("--metric", help="lpips (default), dists, psnr, ssim or mse.")] = None,
    strategy: Annotated[Optional[str], typer.Option("--strategy", help="exhaustive (K x R) or racing (successive halving).")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Candidate x reference samples per network call.")] = 8,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output safetensors file holding x_T and its metadata.")] = Path("bc.safetensors"),
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue an interrupted search from its progress file.")] = True,
    weights_dir: Annotated[Optional[Path], typer.Option("--weights-dir", help="Extra folder to look for metric weights (LPIPS, DISTS).")] = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    not_ready("srkit find-bc")
