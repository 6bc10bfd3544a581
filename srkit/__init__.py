"""srkit: diffusion-based image super-resolution in one engine and one CLI.

Heavy modules (torch, pyiqa, lpips) are imported lazily by the submodules that
need them, so ``import srkit`` and ``srkit --help`` stay fast.
"""

from srkit._version import __version__

__all__ = ["__version__"]
