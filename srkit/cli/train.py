"""``srkit train``: train any recipe on HR photos (degraded on the fly) or on existing pairs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, Output, QuietOpt, SeedOpt, WaitOpt, handle_errors

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
    workers: Annotated[Optional[int], typer.Option("--workers", min=0, help="Threads reading training crops; the next batch is prepared while one trains (0 = none).")] = None,
    wait: WaitOpt = False,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    out_ = Output(json_mode=json_out, quiet=quiet)
    from srkit.cli.common import resolve_device
    from srkit.recipes import load_recipe

    resolved = load_recipe(recipe)
    length = {"steps": steps, "lr": lr}
    train_overrides = {
        "batch_size": batch_size, "grad_accum": grad_accum, "precision": precision, "ckpt_every": ckpt_every,
        "val_every": val_every, "log_every": log_every, "workers": workers, "seed": seed,
        "compile": True if compile else None, **({} if stage == 2 else length),
    }
    resolved = resolved.with_overrides(
        train=_given(train_overrides),
        data=_given({"crop": crop}),
        stage2=_given(length) if stage == 2 and resolved.stage2 is not None else None,
    )
    from srkit.io.output_folder import hold_output
    from srkit.train import train

    hold_output(out, wait=wait, keep=RUN_RESULTS)  # a failed start leaves no run folder

    with TrainProgress(out_) as view:
        summary = train(
            resolved, out=out, data=data, paired=paired, val=val, init=init, stage=stage, resume=resume,
            device=resolve_device(device), progress=view.update, message=out_.info,
        )
    if int(os.environ.get("RANK", "0")) == 0:
        out_.result(summary, lambda console: render_summary(console, summary))


RUN_RESULTS = ("checkpoints/step_*.safetensors", "final.safetensors")  # what makes a failed run's folder worth keeping


def _given(values: dict) -> dict:
    """The options the user set (None = keep the recipe's value)."""
    return {key: value for key, value in values.items() if value is not None}


class TrainProgress:
    """A rich progress bar over training steps showing the latest loss and it/s (rank 0 only)."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.bar = None
        self.task = None

    def __enter__(self) -> "TrainProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, step: int, total: int, values: dict) -> None:
        if self.bar is None:
            self.bar = self.out.progress()
            self.bar.start()
            self.task = self.bar.add_task("train", total=total, completed=step - 1, info="")
        parts = [f"loss {values['loss']:.4g}" if values.get("loss") is not None else "", f"{values.get('it_s', 0.0):.2f} it/s"]
        self.bar.update(self.task, completed=step, total=total, info="  ".join(p for p in parts if p))


def render_summary(console, summary: dict) -> None:
    """Where the run ended and what it wrote."""
    done = "finished" if summary["final"] else "stopped"
    console.print(f"{summary['recipe']}: {done} at step {summary['step']}/{summary['total_steps']} in {summary['run_dir']}", highlight=False)
    if summary["final"]:
        console.print(f"model: {summary['final']} (id {summary['model_id']})", highlight=False)
    details = [f"loss {summary['loss']:.4g}" if summary.get("loss") is not None else ""]
    details += [f"{name} {value:.4f}" for name, value in (summary.get("validation") or {}).items()]
    if summary.get("it_per_s"):
        details.append(f"{summary['it_per_s']:.2f} it/s")
    console.print(", ".join(d for d in details if d), highlight=False)
