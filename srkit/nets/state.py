"""Unwrapping compiled / data-parallel modules, and loading a state dict into one.

Prefix stripping and the checked, one-line-error loading live in
:mod:`srkit.io.checkpoints` (the one place for checkpoint hygiene); this module
only adds :func:`unwrap` so a wrapped network loads like a plain one.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from srkit.io.checkpoints import LoadReport, load_state_into, strip_wrapper_name, strip_wrapper_prefixes

COMPILE_ATTRIBUTE = "_orig_mod"

__all__ = ["load_weights", "strip_wrapper_name", "strip_wrapper_prefixes", "unwrap"]


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside torch.compile / DataParallel wrappers."""
    while True:
        if isinstance(getattr(module, COMPILE_ATTRIBUTE, None), nn.Module):
            module = getattr(module, COMPILE_ATTRIBUTE)
        elif isinstance(module, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            module = module.module
        else:
            return module


def load_weights(module: nn.Module, state_dict: Mapping[str, torch.Tensor], strict: bool = True) -> LoadReport:
    """Load ``state_dict`` into the unwrapped ``module`` (see :func:`srkit.io.checkpoints.load_state_into`)."""
    return load_state_into(unwrap(module), state_dict, strict=strict)
