"""``claim_output``: everything a command does to its output folder before and after its work.

Before: the path must be a folder that can be written (no file in the way, not
read-only), it is created, locked against other srkit runs
(:mod:`srkit.io.locks`), and srkit's own temporaries left there by a killed run
are removed (:mod:`srkit.io.temps`). After a failure: a folder this run created
is removed again unless it holds something worth keeping, so a refused or
failed run leaves nothing behind. Under ``torchrun`` only rank 0 locks, cleans
and tidies (the other ranks write into the folder rank 0 holds).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from pathlib import Path

from srkit.io.atomic import check_folder_path, make_folder
from srkit.io.discovery import output_file_for
from srkit.io.locks import LOCK_NAME, FolderLock
from srkit.io.temps import clean_stale_temporaries, is_srkit_temporary
from srkit.io.writable import check_writable


def _is_rank_zero() -> bool:
    return os.environ.get("RANK", "0") == "0"


def holds_results(folder: Path, keep: Sequence[str] | None = None) -> bool:
    """Whether ``folder`` holds anything worth keeping: a file matching one of the ``keep`` globs, or (without
    ``keep``) any non-empty file that is not srkit's lock or temporary."""
    if keep is not None:
        return any(next(folder.glob(pattern), None) is not None for pattern in keep)
    for parent, _, files in os.walk(folder):
        for name in files:
            path = Path(parent) / name
            if not name.endswith(LOCK_NAME) and not is_srkit_temporary(name) and (path.is_symlink() or path.stat().st_size > 0):
                return True
    return False


@contextmanager
def claim_output(folder: str | Path, *, wait: bool = False, keep: Sequence[str] | None = None,
                 file_name: str | None = None) -> Iterator[Path]:
    """Check, create, lock and clean ``folder`` for the block; on failure remove it if this run made it and it
    holds no results (``keep``: globs of the files that count as results, e.g. ``checkpoints/*.safetensors``).

    ``file_name``: the run writes that one file in ``folder`` (``upscale a.jpg out/a_x4.png``,
    ``find-bc --out bc.safetensors``): the lock and the clean-up then cover that file only, so runs
    writing other files of the same folder go on in parallel.
    """
    lock_name = LOCK_NAME if file_name is None else f".{file_name}{LOCK_NAME}"
    path = check_folder_path(folder)
    check_writable(path)
    if not _is_rank_zero():
        yield path
        return
    existed = path.exists()
    make_folder(path)
    try:
        lock = FolderLock(path, wait=wait, name=lock_name)
        lock.acquire()
    except BaseException:
        _tidy(path, existed, keep)
        raise
    try:
        if os.environ.get("WORLD_SIZE", "1") == "1":  # under torchrun other ranks may be writing live temporaries
            clean_stale_temporaries(path, only_for=file_name)
        yield path
    except BaseException:
        _tidy(path, existed, keep)  # still locked: no other run can have started writing here
        raise
    finally:
        lock.release()


def _tidy(path: Path, existed: bool, keep: Sequence[str] | None) -> None:
    """Remove ``path`` after a failure if this run created it and it holds no results."""
    if not existed and path.is_dir() and not holds_results(path, keep):
        shutil.rmtree(path, ignore_errors=True)


_command: ContextVar[ExitStack | None] = ContextVar("srkit_command_scope", default=None)


@contextmanager
def command_scope() -> Iterator[None]:
    """The span of one CLI command: outputs claimed with :func:`hold_output` inside it are released (and
    tidied after a failure) when it ends. ``srkit.cli.common.handle_errors`` opens it around every command."""
    with ExitStack() as stack, terminate_as_interrupt():
        token = _command.set(stack)
        try:
            yield
        finally:
            _command.reset(token)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (``kill``, ``timeout``, a batch scheduler's stop) is handled like Ctrl-C:
    ``KeyboardInterrupt`` is raised, so a run saves what it saves on Ctrl-C, releases its lock and tidies up
    instead of vanishing mid-write. Only the main thread can install it; elsewhere, and under ``torchrun``
    (which stops every worker with SIGTERM when one fails, where a collective save could hang), nothing changes."""
    if threading.current_thread() is not threading.main_thread() or os.environ.get("WORLD_SIZE", "1") != "1":
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def hold_output(folder: str | Path, *, wait: bool = False, keep: Sequence[str] | None = None,
                file_name: str | None = None, source: str | Path | None = None) -> Path:
    """:func:`claim_output` for the rest of the current :func:`command_scope` (one line at a command's call site).

    ``source``: the input of ``srkit upscale``; when it is one image file and ``folder`` names an image file
    (:func:`srkit.io.discovery.output_file_for`), that file is the output, claimed alone.
    """
    stack = _command.get()
    if stack is None:
        raise RuntimeError("hold_output() runs inside command_scope(); in a program use `with claim_output(...)`")
    target = output_file_for(source, folder) if source is not None else None
    if target is not None:
        folder, file_name = target.parent, target.name
    return stack.enter_context(claim_output(folder, wait=wait, keep=keep, file_name=file_name))
