"""Inference: load a trained model, super-resolve images of any size, search optimal boundary conditions.

Modules, one job each: ``model`` (SRModel, load_model, model_from_modules),
``pipeline`` (one image: tiles,
noise, blending), ``tiling`` (tile plans, Gaussian-tapered blending),
``seeding`` (derived seeds, position-keyed noise), ``memory`` (``--tile auto``),
``color_fix``, ``resize``, ``upscale`` (folders in, folders out, report),
``bc`` (BC files), ``bc_search`` (find-bc), ``references``, ``criteria``,
``search_progress`` (resume), ``distributed`` (torchrun sharding),
``loading`` (which model the options name).
"""

from srkit.infer.bc import BoundaryCondition, load_bc, save_bc
from srkit.infer.bc_search import SearchSettings, find_bc
from srkit.model import SRModel, load_model, model_from_modules

# ``upscale`` lives in srkit.infer.upscale (not re-exported: the name would hide the module).

__all__ = [
    "BoundaryCondition",
    "SRModel",
    "SearchSettings",
    "find_bc",
    "load_bc",
    "load_model",
    "model_from_modules",
    "save_bc",
]
