"""``srkit train``: train any recipe on HR photos (degraded on the fly) or on existing pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, QuietOpt, SeedOpt, handle_errors, not_ready

HELP = (
    "Train a recipe. Example: srkit train --recipe sr3 --data photos/ --out runs/sr3. "
    "Multi-GPU: torchrun --nproc-per-node N -m srkit train ..."
)


@handle_errors
def command(
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="Recipe name (see `srkit recipes`) or YAML path.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoints, logs, sample grids.")],
    data: Annotated[Optional[Path], typer.Option("--data", help="Folder of HR photos (random crops, degraded on the fly with the recipe's preset).")] = None,
    paired: Annotated[Optional[tuple[Path, Path]], typer.Option("--paired", help="Existing pairs instead of --data: LR_DIR HR_DIR.")] = None,
    val: Annotated[Optional[Path], typer.Option("--val", help="Folder of HR validation photos.")] = None,
    init: Annotated[Optional[str], typer.Option("--init", help="Start from these weights (e.g. an sr3 checkpoint for dossr/ccsr).")] = None,
    stage: Annotated[int, typer.Option("--stage", min=1, max=2, help="CCSR: 1 = non-uniform timestep learning, 2 = adversarial decoder fine-tuning.")] = 1,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out exactly where it stopped.")] = False,
    steps: Annotated[Optional[int], typer.Option("--steps", min=1, help="Training steps (default: the recipe's).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Batch size per process.")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate.")] = None,
    crop: Annotated[Optional[int], typer.Option("--crop", min=8, help="HR crop size in pixels.")] = None,
    grad_accum: Annotated[Optional[int], typer.Option("--grad-accum", min=1, help="Gradient accumulation steps.")] = None,
    precision: Annotated[Optional[str], typer.Option("--precision", help="fp32, bf16 or fp16 autocast (bf16/fp16 on CUDA).")] = None,
    compile: Annotated[bool, typer.Option("--compile", help="Use torch.compile.")] = False,
    ckpt_every: Annotated[Optional[int], typer.Option("--ckpt-every", min=1, help="Save a checkpoint every N steps.")] = None,
    val_every: Annotated[Optional[int], typer.Option("--val-every", min=1, help="Validate every N steps.")] = None,
    log_every: Annotated[Optional[int], typer.Option("--log-every", min=1, help="Log every N steps.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=0, help="Data-loading worker processes.")] = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    not_ready("srkit train")
