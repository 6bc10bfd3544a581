"""srkit: diffusion-based image super-resolution in one engine and one CLI.

Library use (each is the function behind the command of the same name, :mod:`srkit.api`)::

    from srkit import upscale, find_bc, degrade, train
    report = upscale("photos/", "out/", method="dossr", steps=5)

``import srkit`` stays light (no torch): the four functions are imported from
:mod:`srkit.api` on first use; static tools see them through the
``TYPE_CHECKING`` import below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srkit._version import __version__

if TYPE_CHECKING:
    from srkit.api import find_bc, upscale

__all__ = ["__version__", "degrade", "find_bc", "train", "upscale"]


def __getattr__(name: str) -> Any:
    """``srkit.upscale`` and ``srkit.find_bc``: imported from :mod:`srkit.api` when first asked for (it imports torch).

    ``srkit.train`` and ``srkit.degrade`` are packages that are callable as the functions
    of :mod:`srkit.api` (:mod:`srkit._callable_package`), so they are found as submodules.
    """
    if name in ("find_bc", "upscale"):
        from srkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'srkit' has no attribute {name!r}")
