"""Forward processes: how ``x_t`` is made from ``x0``, ``y`` and ``eps`` (one file each).

The timestep convention and the shared affine form are documented in
:mod:`srkit.diffusion.processes.base`.
"""

from srkit.diffusion.processes.base import AffineCoefs, DiffusionProcess
from srkit.diffusion.processes.dossr import DoSSRProcess
from srkit.diffusion.processes.resshift import ResShiftProcess
from srkit.diffusion.processes.vp import VPProcess

__all__ = ["AffineCoefs", "DiffusionProcess", "DoSSRProcess", "ResShiftProcess", "VPProcess"]
