"""``srkit degrade HR_DIR OUT_DIR``: make LR/HR training pairs with a degradation preset."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, DeviceOpt, JsonOpt, Output, QuietOpt, SeedOpt, WaitOpt, handle_errors, resolve_device

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
    workers: Annotated[int, typer.Option("--workers", min=0, help="Worker threads (0 = in this thread); torch threads are shared out between them.")] = 0,
    wait: WaitOpt = False,
    device: DeviceOpt = "cpu",
    seed: SeedOpt = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    from srkit.degrade import degrade_folder
    from srkit.io.output_folder import hold_output

    hold_output(out_dir, wait=wait)  # writable, locked, stale temporaries removed; removed again on failure

    out = Output(json_mode=json_out, quiet=quiet)
    with out.progress() as bar:
        task = bar.add_task("degrading", total=None, info="")

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = degrade_folder(
            hr_dir,
            out_dir,
            preset=preset,
            scale=scale,
            crop=crop,
            pairs_per_image=pairs_per_image,
            seed=seed,
            workers=workers,
            device=resolve_device(device),
            write_lr_up=lr_up,
            replay=replay,
            overwrite=overwrite,
            progress=progress,
        )

    def render(console) -> None:
        from rich.table import Table

        table = Table(title=f"srkit degrade -> {out_dir}", show_header=False)
        for key, value in summary.items():
            if not isinstance(value, (list, dict)):
                table.add_row(str(key), str(value))
        skipped = summary.get("skipped_too_small") or []
        if skipped:
            table.add_row("too small for the crop", ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else ""))
        console.print(table)

    out.result(summary, render)
