"""What every srkit command shares: common options, error handling, output.

Contract with shell scripts: exit code 0 on success, 1 on a runtime failure, 2
on bad usage or input; every error is one line on stderr (``--debug`` adds the
traceback); with ``--json`` the machine-readable result is the only thing on
stdout. Nothing here imports torch.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer
from typing_extensions import Annotated, Self

from srkit.devices import resolve_device
from srkit.errors import SettingError, SrkitError
from srkit.io.output_folder import command_scope
from srkit.io.pipes import stdout_closed
from srkit.io.progress_lines import PlainProgress, one_line
from srkit.io.writable import disk_full_error, is_disk_full
from srkit.jsonable import json_safe

if TYPE_CHECKING:
    from srkit.bench.dataset import BenchDataset
    from srkit.infer.upscale import TileSpec

DeviceOpt = Annotated[
    str, typer.Option("--device", help="Where to run: auto (CUDA if present, else MPS, else CPU), cpu, cuda, cuda:N or mps.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed reproduces outputs bit-for-bit on the same device.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the machine-readable result as JSON on stdout; everything else goes to stderr.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables, errors only.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="If another srkit run is writing the same output, wait for it to finish instead of refusing.")]


BcModeOpt = Annotated[
    str,
    typer.Option("--bc-mode", help="How a boundary condition covers an image: mosaic (x_T repeated over the whole image, sampled once) or tile (BC-sized tiles, each from x_T)."),
]


# Options shared by `srkit bench` and `srkit stability` (same data, same help).
EvalDataOpt = Annotated[Path, typer.Option("--data", help="HR folder (degraded with --preset) or, with --paired-lr, the HR folder.")]
EvalLimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N images.")]
EvalCentreCropOpt = Annotated[
    Optional[int],
    typer.Option("--center-crop", min=1, help="Evaluate the centred N x N px crop of each HR image (quick runs on large photos)."),
]
EvalLrSeedOpt = Annotated[
    int, typer.Option("--lr-seed", help="Seed of the degradation that makes the LR inputs (independent of --seed).")
]
EvalWeightsDirOpt = Annotated[Optional[Path], typer.Option("--weights-dir", help="Extra folder to look for metric weights.")]
EvalCropBorderOpt = Annotated[
    Optional[int], typer.Option("--crop-border", min=0, help="Pixels cropped at each border for PSNR/SSIM (default: the scale).")
]
EvalTileOpt = Annotated[str, typer.Option("--tile", help="Tile size for large images, 'auto' or 0.")]
ColorFixOpt = Annotated[
    str, typer.Option("--color-fix", help="auto (the model's own: wavelet against the Real-ESRGAN preprocessed image for the built-in dossr, none for the other built-ins, as released for converted models), none, wavelet or adain: match the output colours to the model's condition image (StableSR's colour correction).")
]
EvalPrecisionOpt = Annotated[str, typer.Option("--precision", help="fp32, bf16 or fp16 (bf16/fp16 are for CUDA).")]


@dataclass
class Output:
    """Where a command writes: results to stdout, everything else to stderr."""

    json_mode: bool = False
    quiet: bool = False

    @functools.cached_property
    def err(self):  # rich Console on stderr, for progress and messages
        from rich.console import Console

        return Console(stderr=True, quiet=self.quiet, soft_wrap=True)  # one message, one line, whatever the width

    @functools.cached_property
    def out(self):  # rich Console on stdout, for human-readable results
        from rich.console import Console

        return Console(quiet=self.quiet)

    def progress(self, **kwargs: Any):
        """A rich progress bar on stderr (disabled when quiet)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        if not self.err.is_terminal:  # logs, pipes, CI: plain rate-limited lines (none with --quiet)
            return PlainProgress(sys.stderr, disable=self.quiet)
        return Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.err,
            disable=self.quiet or not self.err.is_terminal,  # no bars in logs and pipes
            transient=True,
            **kwargs,
        )

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(one_line(message), highlight=False, markup=False)  # file names with [brackets] stay intact

    def result(self, payload: dict[str, Any], render: Callable[[Any], None] | None = None) -> None:
        """Emit a command's result: JSON on stdout with --json, else ``render(console)`` on stdout."""
        if self.json_mode:
            sys.stdout.write(json.dumps(json_safe(payload), indent=2) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render(self.out)


class EventBars:
    """A rich progress display on ``output`` for a library's progress events, shown while in a ``with`` block.

    Subclasses add tasks to ``self.bar`` in ``__call__(kind, info)``.
    """

    def __init__(self, output: Output) -> None:
        self.output = output
        self.bar: Any = None

    def __enter__(self) -> Self:
        self.bar = self.output.progress()
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def fail(message: str, code: int, debug: bool = False) -> None:
    """Print ``srkit: error: <message>`` as one line on stderr and exit with ``code``."""
    if debug:
        traceback.print_exc()
    first_line = " ".join(str(message).split())
    sys.stderr.write(f"srkit: error: {first_line}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command body; turn srkit errors and surprises into one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug", False))
        try:
            with command_scope():  # output folders held by the command are released (tidied on failure) at its end
                return fn(*args, **kwargs)
        except SettingError as err:  # a library setting, named as the flag that sets it
            fail(f"--{err.setting.replace('_', '-')} {err.problem}", err.exit_code, debug)
        except SrkitError as err:
            fail(str(err), err.exit_code, debug)
        except KeyboardInterrupt:
            fail("interrupted", 130, debug)
        except MemoryError:
            fail("out of memory: use --tile (e.g. --tile 256) or a smaller --batch", 1, debug)
        except (typer.Exit, SystemExit):
            raise
        except BrokenPipeError:  # `srkit ... | head`: the reader stopped early, which is not a failure
            stdout_closed()
            raise SystemExit(0) from None
        except Exception as err:  # noqa: BLE001 - last resort: one line, never a traceback
            kind = type(err).__name__
            if is_disk_full(err):
                fail(str(disk_full_error(getattr(err, "filename", None) or Path.cwd(), None)), 1, debug)
            if "out of memory" in str(err).lower():
                fail("out of memory: use --tile (e.g. --tile 256) or a smaller --batch", 1, debug)
            fail(f"{kind}: {err} (run with --debug for the traceback)", 1, debug)

    return wrapper


def open_evaluation(
    output: Output, data: Path, *, paired_lr: Path | None, preset: str | None, limit: int | None, lr_seed: int,
    tile: str, device: str, precision: str, centre_crop: int | None = None, out: Path | None = None,
) -> "tuple[BenchDataset, TileSpec, str]":
    """The common start of ``srkit bench`` and ``srkit stability``: ``(dataset, tile spec, device name)``.

    Checks ``--tile`` and the LR options, opens the dataset, resolves ``--device``
    and prints the precision warning for that device, if any (imports torch).
    """
    from srkit.bench import open_dataset
    from srkit.bench.dataset import check_lr_options
    from srkit.infer.loading import precision_warning
    from srkit.infer.upscale import parse_tile

    tile_spec = parse_tile(tile)
    check_lr_options(paired_lr, preset)
    dataset = open_dataset(data, paired_lr=paired_lr, limit=limit, lr_seed=lr_seed, centre_crop=centre_crop, exclude=out)
    device_name = resolve_device(device)
    warning = precision_warning(precision, device_name)
    if warning:
        output.info(warning)
    return dataset, tile_spec, device_name

