"""What every srkit command shares: common options, error handling, output.

Contract with shell scripts: exit code 0 on success, 1 on a runtime failure, 2
on bad usage or input; every error is one line on stderr (``--debug`` adds the
traceback); with ``--json`` the machine-readable result is the only thing on
stdout. Nothing here imports torch.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

import typer
from typing_extensions import Annotated

from srkit.errors import SrkitError

DeviceOpt = Annotated[
    str, typer.Option("--device", help="Where to run: auto (CUDA if present, else MPS, else CPU), cpu, cuda, cuda:N or mps.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed reproduces outputs bit-for-bit on the same device.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the machine-readable result as JSON on stdout; everything else goes to stderr.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or tables, errors only.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show the full traceback on errors.")]
RecipeOpt = Annotated[
    Optional[str], typer.Option("--recipe", help="Recipe YAML file of your own (overrides --method).")
]


@dataclass
class Output:
    """Where a command writes: results to stdout, everything else to stderr."""

    json_mode: bool = False
    quiet: bool = False

    @functools.cached_property
    def err(self):  # rich Console on stderr, for progress and messages
        from rich.console import Console

        return Console(stderr=True, quiet=self.quiet)

    @functools.cached_property
    def out(self):  # rich Console on stdout, for human-readable results
        from rich.console import Console

        return Console(quiet=self.quiet)

    def progress(self, **kwargs: Any):
        """A rich progress bar on stderr (disabled when quiet)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

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
            self.err.print(message, highlight=False)

    def result(self, payload: dict[str, Any], render: Callable[[Any], None] | None = None) -> None:
        """Emit a command's result: JSON on stdout with --json, else ``render(console)`` on stdout."""
        if self.json_mode:
            sys.stdout.write(json.dumps(json_safe(payload), indent=2) + "\n")
            sys.stdout.flush()
        elif render is not None:
            render(self.out)


def json_safe(value: Any) -> Any:
    """Make a payload JSON-serialisable (paths to str, NaN/inf to null/strings, tuples to lists)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item") and callable(value.item):
        return json_safe(value.item())
    return str(value)


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
            return fn(*args, **kwargs)
        except SrkitError as err:
            fail(str(err), err.exit_code, debug)
        except KeyboardInterrupt:
            fail("interrupted", 130, debug)
        except MemoryError:
            fail("out of memory: use --tile (e.g. --tile 256) or a smaller --batch", 1, debug)
        except (typer.Exit, SystemExit):
            raise
        except Exception as err:  # noqa: BLE001 - last resort: one line, never a traceback
            kind = type(err).__name__
            if "out of memory" in str(err).lower():
                fail("out of memory: use --tile (e.g. --tile 256) or a smaller --batch", 1, debug)
            fail(f"{kind}: {err} (run with --debug for the traceback)", 1, debug)

    return wrapper


def not_ready(feature: str) -> None:
    """Refuse cleanly for a part of srkit that is not built yet."""
    fail(f"{feature} is not available in this version of srkit yet", 1)


def resolve_device(name: str) -> str:
    """'auto' -> the best available device; validates explicit names (imports torch)."""
    from srkit.errors import UsageError

    import torch

    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if ":" in name:
            index = name.split(":", 1)[1]
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise UsageError(f"--device {name}: no such CUDA device (found {torch.cuda.device_count()})")
        return name
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise UsageError("--device mps: MPS is not available on this machine (use --device cpu)")
        return "mps"
    raise UsageError(f"--device must be auto, cpu, cuda, cuda:N or mps, got '{name}'")
