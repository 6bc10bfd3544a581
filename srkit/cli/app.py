"""The ``srkit`` Typer application: registers one module per command.

``main()`` runs Typer in non-standalone mode so that click's usage errors
(unknown option, bad value) also come out as one line with exit code 2.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from typing_extensions import Annotated

from srkit._version import __version__
from srkit.cli import bench, convert, degrade, find_bc, models, recipes, stability, train, upscale
from srkit.io.limits import set_max_pixels
from srkit.io.pipes import exit_after_broken_pipe, stdout_closed

app = typer.Typer(
    name="srkit",
    help=(
        "Diffusion-based image super-resolution: ResShift, DoSSR, CCSR, DREAM and optimal boundary "
        "conditions in one engine. Exit codes: 0 success, 1 runtime failure, 2 bad usage or input."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"srkit {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
    max_pixels: Annotated[
        Optional[int],
        typer.Option("--max-pixels", min=0, help="Largest image to read, in pixels (default 268435456 = 256 MP, or $SRKIT_MAX_PIXELS; 0 = no limit). Give it before the command: srkit --max-pixels 500000000 upscale ..."),
    ] = None,
) -> None:
    """srkit: one engine and one CLI for diffusion super-resolution."""
    set_max_pixels(max_pixels)


app.command("train", help=train.HELP)(train.command)
app.command("upscale", help=upscale.HELP)(upscale.command)
app.command("find-bc", help=find_bc.HELP)(find_bc.command)
app.command("degrade", help=degrade.HELP)(degrade.command)
app.command("bench", help=bench.HELP)(bench.command)
app.command("stability", help=stability.HELP)(stability.command)
app.command("recipes", help=recipes.HELP)(recipes.command)
app.command("models", help=models.HELP)(models.command)
app.command("convert", help=convert.HELP)(convert.command)


def _click_module():
    """The click that Typer runs on: recent Typer vendors it as ``typer._click``."""
    import importlib
    import types

    for name in ("typer._click", "click"):
        try:
            module = importlib.import_module(name)
            return types.SimpleNamespace(exceptions=importlib.import_module(f"{name}.exceptions"), module=module)
        except ImportError:
            continue
    raise ImportError("click is not installed")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one-line usage errors (exit 2), command exit codes passed through."""
    exc = _click_module().exceptions
    no_args = getattr(exc, "NoArgsIsHelpError", ())
    abort = getattr(exc, "Abort", typer.Abort)
    exit_ = getattr(exc, "Exit", typer.Exit)
    try:
        app(args=argv, standalone_mode=False, prog_name="srkit")
        sys.stdout.flush()  # a closed pipe shows here at the latest, not at interpreter exit
    except BrokenPipeError:  # `srkit --help | head`: the reader stopped early, which is not a failure
        stdout_closed()
        raise SystemExit(0) from None
    except SystemExit as err:
        if err.code == 1 and exit_after_broken_pipe(err):  # rich and click turn EPIPE into exit 1
            stdout_closed()
            raise SystemExit(0) from None
        raise
    except no_args:  # `srkit` alone: the help was printed, nothing failed
        raise SystemExit(0) from None
    except exc.UsageError as err:
        ctx = getattr(err, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = " ".join(err.format_message().split())
        sys.stderr.write(f"srkit: error: {message}{hint}\n")
        raise SystemExit(2) from None
    except abort:
        sys.stderr.write("srkit: error: interrupted\n")
        raise SystemExit(130) from None
    except exit_ as err:
        raise SystemExit(err.exit_code) from None
    except exc.ClickException as err:
        sys.stderr.write(f"srkit: error: {' '.join(err.format_message().split())}\n")
        raise SystemExit(err.exit_code) from None
    raise SystemExit(0)
