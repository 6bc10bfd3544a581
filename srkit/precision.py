"""Numeric precision of a run: the ``--precision`` names, their check against the device, and the autocast.

Weights stay float32; ``bf16``/``fp16`` run the networks under autocast. One home
for srkit models, Real-ESRGAN (also as a preprocessor) and the released pipelines.
"""

from __future__ import annotations

import contextlib

import torch

from srkit.errors import SettingError

PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_precision(precision: str, device: torch.device) -> str:
    """``precision`` if it can run on ``device`` (fp16 is refused on CPU); a one-line SettingError otherwise."""
    if precision not in PRECISIONS:
        raise SettingError("precision", f"must be fp32, bf16 or fp16, got '{precision}'")
    if precision == "fp16" and device.type == "cpu":
        raise SettingError("precision", "fp16 is not supported on CPU (no fast half-precision convolutions); use fp32 or bf16")
    return precision


def precision_autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[None]:
    """Autocast to ``precision`` on ``device`` (weights stay float32); nothing for ``fp32``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=PRECISIONS[precision])
