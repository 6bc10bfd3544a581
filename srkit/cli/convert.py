"""``srkit convert --from FAMILY SRC... -o model.safetensors``: official checkpoints -> one srkit checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer
from typing_extensions import Annotated

from srkit.cli.common import DebugOpt, JsonOpt, Output, QuietOpt, handle_errors

#: every ``--from`` name (``srkit.released.registry.FAMILIES``; a test keeps the two equal)
FROM_NAMES = ("resshift-v1", "resshift-v2", "resshift-v3", "resshift-bicsr", "dossr", "dossr-onestep", "ccsr-v1", "ccsr-v2")

HELP = (
    "Convert official released checkpoints (ResShift, DoSSR, CCSR v1/v2) into one srkit .safetensors file "
    "that `srkit upscale --weights` runs. Pickles are read as tensors only; nothing is downloaded. "
    "Example: srkit convert --from resshift-v3 resshift_realsrx4_s4_v3.pth autoencoder_vq_f4.pth -o resshift-v3.safetensors"
)
SOURCES_HELP = (
    "The official file(s): ResShift: the diffusion checkpoint and autoencoder_vq_f4.pth, in any order; "
    "DoSSR, CCSR v1: the one .ckpt; CCSR v2: its controlnet and vae folders plus SD-2.1-base's unet and text_encoder folders."
)
SET_HELP = (
    "Change one setting of the official inference stored in the file (repeatable; DoSSR and CCSR): "
    "steps, order (DoSSR); process_size (CCSR: 0 = no resizing to the script's sizes), steps, t_max, t_min, "
    "tile_diffusion (CCSR: 512 = the scripts' --tile_diffusion), tile_stride; guidance (CCSR v2)."
)


def parse_settings(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs as a dict; values read as int, float, true/false, or kept as text."""
    from srkit.errors import UsageError

    settings: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise UsageError(f"--set takes KEY=VALUE, got {item!r}")
        settings[key.strip()] = _value(text.strip())
    return settings


def _value(text: str) -> object:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@handle_errors
def command(
    sources: Annotated[List[Path], typer.Argument(metavar="SRC...", help=SOURCES_HELP)],
    family: Annotated[str, typer.Option("--from", help="What the files are: " + ", ".join(FROM_NAMES) + ".")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The srkit checkpoint to write (*.safetensors); written completely or not at all.")],
    storage: Annotated[str, typer.Option("--storage", help="Storage type of floating tensors: keep (as in the source), fp32, fp16 or bf16.")] = "keep",
    settings: Annotated[List[str], typer.Option("--set", metavar="KEY=VALUE", help=SET_HELP)] = [],  # noqa: B006 (typer needs a list default)
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUTPUT if it exists.")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    from srkit.convert.api import convert_checkpoint
    from srkit.errors import UsageError

    out = Output(json_mode=json_out, quiet=quiet)
    parsed = parse_settings(settings)
    if output.exists() and not overwrite:
        raise UsageError(f"{output} exists; pass --overwrite to replace it")
    with out.progress() as bar:
        task = bar.add_task("writing", total=None, info="")

        def written(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, info=f"{done / 1e6:.0f} / {total / 1e6:.0f} MB")

        report = convert_checkpoint(
            family, sources, output, storage=storage, settings=parsed, progress=out.info, write_progress=written
        )
    payload = {
        "output": str(report.output),
        "family": report.family,
        "model_id": report.model_id,
        "tensors": report.tensors,
        "ignored": len(report.ignored),
        "bytes": report.bytes,
        "seconds": round(report.seconds, 2),
        "settings": parsed,
    }

    def render(console) -> None:
        console.print(
            f"wrote {report.output} ({report.family}, model id {report.model_id}, {report.tensors} tensors, "
            f"{report.bytes / 1e6:.1f} MB) in {report.seconds:.1f} s",
            highlight=False,
        )

    out.result(payload, render)
