"""One srkit run per output folder: an advisory lock held while a command writes there.

Two runs writing one folder interleave their files (half one method, half the
other) and the last ``report.json`` describes only one of them. A command that
writes a folder takes :class:`FolderLock` first: ``flock`` on the hidden file
``.srkit.lock`` inside it, which records the holder's pid and command line. A
second run is refused in one line naming that pid, or with ``wait`` blocks until
the first ends. The kernel drops an ``flock`` when its holder dies, so a run
killed with ``kill -9`` never leaves the folder locked. The lock file is removed
on release (safely: a waiter that locked the removed file notices and retries).
POSIX only; where ``fcntl`` is missing (Windows) the lock is a no-op.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import TracebackType

from srkit.errors import SrkitError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".srkit.lock"


class FolderBusyError(SrkitError):
    """Another srkit run holds the output folder's lock (exit code 1: try again later, or pass --wait)."""

    exit_code = 1


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another srkit run"
    pid, _, command = text.partition(" ")
    return f"srkit process {pid} ({command})" if pid.isdigit() and command else (f"srkit process {pid}" if pid.isdigit() else "another srkit run")


class FolderLock:
    """``with FolderLock(folder, wait=False):`` hold ``folder/.srkit.lock`` (``name`` for another lock file)."""

    def __init__(self, folder: str | Path, *, wait: bool = False, name: str = LOCK_NAME, poll_s: float = 0.2) -> None:
        self.path = Path(folder) / name
        self.wait = wait
        self.poll_s = poll_s
        self._fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:
            return
        announced = False
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except FileNotFoundError:  # the previous holder failed and removed the folder it had made
                self.path.parent.mkdir(parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not self.wait:
                    raise FolderBusyError(
                        f"{self._what()} is in use by {_holder(self.path)}; wait for it to finish, "
                        "or pass --wait to queue behind it"
                    ) from None
                if not announced:
                    sys.stderr.write(f"waiting for {_holder(self.path)} to release {self._what()}\n")
                    sys.stderr.flush()
                    announced = True
                time.sleep(self.poll_s)
                continue
            if self._same_file(fd):
                break
            os.close(fd)  # the holder removed the file as we locked it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {' '.join(['srkit', *sys.argv[1:3]])}\n".encode())
        self._fd = fd

    def _what(self) -> str:
        """The folder, or for a one-file lock (``.<name>.srkit.lock``) that file."""
        name = self.path.name
        if name != LOCK_NAME and name.endswith(LOCK_NAME):
            return str(self.path.parent / name[1 : -len(LOCK_NAME)])
        return str(self.path.parent)

    def _same_file(self, fd: int) -> bool:
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            return False

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still locked: waiters see a removed file and retry
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
