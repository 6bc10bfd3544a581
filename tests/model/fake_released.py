"""A fake released pipeline (the ReleasedPipeline surface of srkit.released.base) and a fake Real-ESRGAN module."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import torch
from torch import Tensor

from srkit.model.condition import upsample_condition


@dataclass
class FakePipeline:
    """Bicubic x4 plus a constant 0.01, one NFE: enough to tell its output from bicubic's."""

    scale: int = 4
    latent_factor: int = 1
    model_id: str = "fake-realesrgan"
    licence: str = "BSD-3-Clause"
    name: str = "realesrgan"
    calls: list = field(default_factory=list)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def start_shape(self, lr_shape):
        batch, _, height, width = lr_shape
        return (int(batch), 3, height * self.scale, width * self.scale)

    def super_resolve(self, lr: Tensor, *, noise=None, generator=None, callback=None) -> tuple[Tensor, int]:
        self.calls.append(tuple(lr.shape))
        return (upsample_condition(lr, self.scale) + 0.01).clamp(0.0, 1.0), 1


def install_fake_realesrgan(monkeypatch) -> list:
    """Make ``srkit.pretrained.realesrgan.load_realesrgan_x4plus`` a fake; returns the list of (device, precision) it was called with."""
    calls: list = []
    package = types.ModuleType("srkit.pretrained")
    module = types.ModuleType("srkit.pretrained.realesrgan")

    def load_realesrgan_x4plus(device: torch.device, precision: str = "fp32") -> FakePipeline:
        calls.append((device, precision))
        return FakePipeline()

    module.load_realesrgan_x4plus = load_realesrgan_x4plus
    package.realesrgan = module
    monkeypatch.setitem(sys.modules, "srkit.pretrained", package)
    monkeypatch.setitem(sys.modules, "srkit.pretrained.realesrgan", module)
    return calls


def hide_realesrgan(monkeypatch) -> None:
    """Make ``import srkit.pretrained.realesrgan`` fail, as in an installation without it."""
    monkeypatch.setitem(sys.modules, "srkit.pretrained.realesrgan", None)
