"""Memory a network will take, estimated before it is allocated, against the memory there is.

A network config that is valid but huge (a UNet with 4096 base channels holds
billions of parameters) would otherwise die in the allocator, tens of gigabytes
and minutes later, or take the machine into swap. :func:`check_module_fits`
builds the module on PyTorch's ``meta`` device (shapes only, no storage),
counts its parameters and buffers and refuses in one line, naming what is
needed and what is available, when their float32 weights alone cannot fit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from srkit.errors import SrkitError

#: Fraction of the available memory one network's weights may take (the rest is for activations and the process).
MAX_FRACTION = 0.8


class OutOfMemoryError(SrkitError):
    """Not enough memory for what a run asks for (exit code 1)."""


def gigabytes(size: float) -> str:
    """``size`` bytes as e.g. ``'160 GB'`` or ``'0.42 GB'``."""
    return f"{size / 1e9:.3g} GB"


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation on this machine (``MemAvailable`` of /proc/meminfo, else
    physical pages free via ``sysconf``), or None where neither is known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def module_numel(builder: Callable[[Any], Any], cfg: Any) -> int | None:
    """Parameters plus buffers of ``builder(cfg)``, counted on the meta device; None if it cannot be built there."""
    import torch

    try:
        with torch.device("meta"):
            module = builder(cfg)
    except Exception:  # noqa: BLE001 - a builder that needs real storage: no estimate, build as usual
        return None
    return sum(t.numel() for t in (*module.parameters(), *module.buffers()))


def check_module_fits(builder: Callable[[Any], Any], cfg: Any, what: str = "network",
                      available: int | None = None, bytes_per_value: int = 4) -> None:
    """Refuse (:class:`OutOfMemoryError`) to build a module whose float32 weights need more than
    :data:`MAX_FRACTION` of the available memory; ``available`` defaults to :func:`available_memory_bytes`."""
    available = available_memory_bytes() if available is None else available
    if not available:
        return
    numel = module_numel(builder, cfg)
    if numel is None:
        return
    needed = numel * bytes_per_value
    if needed > MAX_FRACTION * available:
        raise OutOfMemoryError(
            f"the {what} ({type(cfg).__name__}) has {numel / 1e6:,.0f}M parameters and needs about {gigabytes(needed)} "
            f"for its weights alone, but only {gigabytes(available)} of memory is available; use a smaller {what}"
        )
