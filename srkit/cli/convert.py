"""``srkit convert --from FAMILY SRC... -o model.safetensors``: official checkpoints -> one srkit checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, JsonOpt, Output, QuietOpt, handle_errors

HELP = (
    "Convert official released checkpoints (ResShift v1/v2/v3/bicsr ...) into one srkit .safetensors file "
    "that `srkit upscale --weights` runs. Pickles are read as tensors only; nothing is downloaded. "
    "Example: srkit convert --from resshift-v3 resshift_realsrx4_s4_v3.pth autoencoder_vq_f4.pth -o resshift-v3.safetensors"
)


@handle_errors
def command(
    sources: Annotated[List[Path], typer.Argument(metavar="SRC...", help="The official file(s): for ResShift the diffusion checkpoint and autoencoder_vq_f4.pth, in any order.")],
    family: Annotated[str, typer.Option("--from", help="What the files are: resshift-v1, resshift-v2, resshift-v3, resshift-bicsr, ...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The srkit checkpoint to write (*.safetensors); written completely or not at all.")],
    storage: Annotated[str, typer.Option("--storage", help="Storage type of floating tensors: keep (as in the source), fp32, fp16 or bf16.")] = "keep",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    from srkit.convert.api import convert_checkpoint
    from srkit.errors import UsageError

    out = Output(json_mode=json_out, quiet=quiet)
    if output.exists() and not overwrite:
        raise UsageError(f"{output} exists; pass --overwrite to replace it")
    with out.progress() as bar:
        task = bar.add_task("writing", total=None, info="")

        def written(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, info=f"{done / 1e6:.0f} / {total / 1e6:.0f} MB")

        report = convert_checkpoint(family, sources, output, storage=storage, progress=out.info, write_progress=written)
    payload = {
        "output": str(report.output),
        "family": report.family,
        "model_id": report.model_id,
        "tensors": report.tensors,
        "ignored": len(report.ignored),
        "bytes": report.bytes,
        "seconds": round(report.seconds, 2),
    }

    def render(console) -> None:
        console.print(
            f"wrote {report.output} ({report.family}, model id {report.model_id}, {report.tensors} tensors, "
            f"{report.bytes / 1e6:.1f} MB) in {report.seconds:.1f} s",
            highlight=False,
        )

    out.result(payload, render)
