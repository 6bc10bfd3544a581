"""``torch.compile`` where the platform supports it, the plain module elsewhere."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import torch
from torch import nn


def compile_supported(device: torch.device) -> bool:
    """Whether inductor can compile for ``device``: Triton on CUDA, a C++ compiler on CPU (not Windows)."""
    if not hasattr(torch, "compile") or sys.platform == "win32":
        return False
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    if device.type == "cpu":
        return any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++"))
    return False


def compile_if_available(module: nn.Module, device: torch.device, mode: str | None = None) -> nn.Module:
    """``torch.compile(module)`` if :func:`compile_supported`, else ``module`` unchanged.

    A compiled module's state dict carries ``_orig_mod.`` prefixes; save
    ``srkit.nets.state.unwrap(module)`` or strip them with ``srkit.io.checkpoints.strip_wrapper_prefixes``.
    """
    if not compile_supported(device):
        return module
    return torch.compile(module, mode=mode)  # type: ignore[return-value]
