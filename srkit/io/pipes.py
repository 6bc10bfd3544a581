"""A closed pipe on stdout is not an error: ``srkit --help | head`` and ``srkit ... --json | head -c 100`` exit 0.

When the reader of stdout goes away, the next write raises ``BrokenPipeError``
(EPIPE), and Python would also fail flushing stdout at exit. Like the classic
Unix tools, srkit then stops quietly: :func:`stdout_closed` points stdout at
``/dev/null`` (so the final flush succeeds) and the command exits 0.
"""

from __future__ import annotations

import os
import sys


def is_broken_pipe(error: BaseException) -> bool:
    """Whether ``error`` is a write to a pipe whose reader is gone."""
    return isinstance(error, BrokenPipeError)


def stdout_closed() -> None:
    """Send whatever is still buffered for stdout to ``/dev/null`` so exiting does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass



def exit_after_broken_pipe(error: SystemExit) -> bool:
    """Whether a ``SystemExit`` is a library's answer to EPIPE: rich exits 1 from inside its
    ``except BrokenPipeError``, click exits 1 after wrapping stdout in its ``PacifyFlushWrapper``."""
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    cause: BaseException | None = error.__context__
    while cause is not None:
        if isinstance(cause, BrokenPipeError):
            return True
        cause = cause.__context__
    return False
