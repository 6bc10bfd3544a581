"""How much memory a conversion needs, against what the machine has free.

Memory-mapped sources are paged in from the file and need no memory of their
own; renamed tensors are views. What must fit: every source that could not be
mapped, plus about two copies of the largest tensor (the writer makes one
contiguous copy at a time) and a fixed margin for Python and torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from srkit.convert.sources import SourceFile
from srkit.errors import SrkitError

MARGIN = 512 << 20
_GIB = float(1 << 30)


class NotEnoughMemory(SrkitError):
    """The machine has too little free memory for the conversion (exit code 1)."""


def available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """``MemAvailable`` of Linux, in bytes; None where it cannot be read."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def needed_bytes(sources: Sequence[SourceFile]) -> int:
    """Estimated peak memory of converting ``sources`` (module docstring)."""
    largest = max((t.numel() * t.element_size() for s in sources for t in s.tensors.values()), default=0)
    unmapped = sum(s.nbytes for s in sources if not s.mapped)
    return unmapped + 2 * largest + MARGIN


def check_memory(sources: Sequence[SourceFile], available: int | None = None) -> int:
    """Raise :class:`NotEnoughMemory` (saying how much is needed) if the conversion will not fit; return the need."""
    need = needed_bytes(sources)
    free = available_bytes() if available is None else available
    if free is not None and need > free:
        raise NotEnoughMemory(
            f"converting needs about {need / _GIB:.1f} GiB of memory but only {free / _GIB:.1f} GiB is free; "
            "close other programs or convert on a larger machine"
        )
    return need
