"""Output places checked before work starts, and a full disk said in one line.

:func:`check_writable` creates and removes a probe file where a run will write
(the folder, or its nearest existing parent when the folder is still to be
made), so a read-only folder or file system is refused before minutes of
computing, not at the first write. :func:`disk_full_error` turns the many faces
of ENOSPC (``OSError`` errno 28, safetensors' ``os error 28``, numpy's short
write) into ``no space left on DEVICE (need about N MB)``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from srkit.errors import SrkitError, UsageError

_DISK_FULL_TEXT = ("no space left on device", "os error 28", "disk quota exceeded", "os error 122")


class DiskFullError(SrkitError):
    """The file system ran out of space while srkit wrote (exit code 1)."""

    exit_code = 1


def existing_parent(path: str | Path) -> Path:
    """``path`` itself if it exists, else its nearest existing parent folder."""
    current = Path(os.path.abspath(path))
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_writable(folder: str | Path) -> None:
    """Refuse (one-line ``UsageError``) a folder srkit could not write into: read-only, no permission, full.

    ``folder`` need not exist yet: then its nearest existing parent must let it be created.
    """
    target = existing_parent(folder)
    if not target.is_dir():
        return  # a file in the way: srkit.io.atomic.check_folder_path names it
    try:
        handle, probe = tempfile.mkstemp(prefix=".srkit-probe.", suffix=".tmp", dir=target)
    except OSError as error:
        where = str(folder) if target == Path(os.path.abspath(folder)) else f"{folder} (in {target})"
        raise UsageError(f"cannot write to {where}: {_reason(error)}") from None
    os.close(handle)
    os.unlink(probe)


def _reason(error: OSError) -> str:
    if error.errno == errno.EROFS:
        return "read-only file system"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on device"
    return error.strerror or str(error)


def mount_point(path: str | Path) -> Path:
    """The mount point of the file system holding ``path`` (what ``df`` names)."""
    current = existing_parent(path)
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a write that failed because the disk (or quota) is full."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return any(marker in text for marker in _DISK_FULL_TEXT)


def megabytes(size: float) -> str:
    return f"{max(size, 1) / 1e6:.3g} MB"


def disk_full_error(path: str | Path, needed: int | None) -> DiskFullError:
    """``no space left on <mount point> (need about N MB, M MB free) writing <path>``."""
    device = mount_point(path)
    try:
        free = os.statvfs(device).f_bavail * os.statvfs(device).f_frsize
        free_text = f", {megabytes(free)} free"
    except OSError:
        free_text = ""
    need = f"need about {megabytes(needed)}{free_text}" if needed else f"{free_text[2:] or 'full'}"
    return DiskFullError(f"no space left on {device} ({need}) writing {path}; free some space and run again")
