"""``srkit degrade HR_DIR OUT_DIR``: make LR/HR training pairs with a degradation preset."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, QuietOpt, SeedOpt, handle_errors, not_ready

HELP = (
    "Make LR/HR pairs from HR photos with a degradation preset (realesrgan, resshift, stablesr, bicubic or a YAML "
    "file). Writes OUT_DIR/hr, OUT_DIR/lr and OUT_DIR/manifest.jsonl; resumable; --replay regenerates identical pairs."
)


@handle_errors
def command(
    hr_dir: Annotated[Path, typer.Argument(help="Folder (or file/glob) of HR images.")],
    out_dir: Annotated[Path, typer.Argument(help="Output folder: hr/, lr/, optional lr_up/, manifest.jsonl.")],
    preset: Annotated[str, typer.Option("--preset", "-p", help="realesrgan, resshift, stablesr, bicubic or a preset YAML path.")] = "realesrgan",
    scale: Annotated[int, typer.Option("--scale", "-s", help="Downscaling factor: 2, 3, 4 or 8.")] = 4,
    crop: Annotated[Optional[int], typer.Option("--crop", min=8, help="Random HR crops of this size (default: whole images).")] = None,
    pairs_per_image: Annotated[int, typer.Option("--pairs-per-image", min=1, help="Pairs drawn from each HR image.")] = 1,
    lr_up: Annotated[bool, typer.Option("--lr-up", help="Also write lr_up/: the LR resized (bicubic) back to HR size.")] = False,
    replay: Annotated[Optional[Path], typer.Option("--replay", help="Regenerate the exact pairs of a manifest.jsonl.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Redo pairs that already exist (default: resume).")] = False,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Worker processes (0 = in this process).")] = 0,
    device: DeviceOpt = "cpu",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    not_ready("srkit degrade")
