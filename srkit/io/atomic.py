"""Atomic file output: write next to the target, then rename over it.

``os.replace`` is atomic within one filesystem, so a reader (or a run that was
killed mid-write) sees either the old file, the complete new file, or nothing;
never a half-written one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from srkit.errors import UsageError
from srkit.io.temps import temporary_name
from srkit.io.writable import disk_full_error, is_disk_full


def check_folder_path(path: str | Path) -> Path:
    """Refuse, before any work, a folder path that cannot be created because a file is in the way."""
    folder = Path(path)
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise UsageError(f"cannot create folder {folder}: {part} is a file, not a folder")
            break
    return folder


def make_folder(path: str | Path) -> Path:
    """Create folder ``path`` with its parents (fine if it exists); a one-line error where a file is in the way
    or the folder cannot be created (permissions, read-only file system)."""
    folder = check_folder_path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create folder {folder}: {error.strerror or error}") from None
    return folder


@contextmanager
def atomic_path(path: str | Path, size_hint: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it to ``path``.

    The temporary name is hidden (``.<name>.<random>.tmp``) so folder scans skip
    it. On any exception (including KeyboardInterrupt) the temporary file is
    removed and ``path`` is left untouched. Parent folders are created. The
    file gets the permissions of a freshly created file (0666 less the umask),
    even if the writer replaced the temporary file with a private one. A write
    that fails because the disk is full raises :class:`DiskFullError` naming the
    device and ``size_hint`` bytes (what the file needs), or else what was written.
    """
    target = Path(path)
    make_folder(target.parent)
    tmp = target.with_name(temporary_name(target.name, secrets.token_hex(4)))
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # honours umask
    mode = tmp.stat().st_mode & 0o777
    try:
        yield tmp
        os.chmod(tmp, mode)  # safetensors' writer, for one, creates its file 0600
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        written = tmp.stat().st_size if tmp.exists() else 0
        tmp.unlink(missing_ok=True)
        if is_disk_full(error):
            raise disk_full_error(target, size_hint or written) from error
        raise
