"""Metrics of SR results through :func:`srkit.metrics.evaluate`, and their means over images and runs.

A metric that cannot run (its weights are not on disk) is reported as the
string ``"unavailable: ..."`` from the first image on, and never retried; the
other metrics carry on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from srkit.metrics import evaluate, parse_metrics, unavailable_metrics

MetricValues = dict[str, "float | str"]


def metric_device(device: torch.device) -> torch.device:
    """Where metrics run: the bench device if it is CUDA, else CPU (float64 fidelity metrics need no GPU)."""
    return device if device.type == "cuda" else torch.device("cpu")


@dataclass
class Scorer:
    """``scorer(sr, hr, lr) -> {metric: value or "unavailable: ..."}`` with fixed settings."""

    metrics: list[str]
    scale: int
    crop_border: int | None = None
    weights_dir: Path | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    unavailable: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metrics = parse_metrics(",".join(self.metrics))
        self.unavailable.update(unavailable_metrics(self.metrics, self.weights_dir))

    def __call__(self, sr: Tensor, hr: Tensor, lr: Tensor) -> MetricValues:
        wanted = [name for name in self.metrics if name not in self.unavailable]
        values: MetricValues = {}
        if wanted:
            sr, hr, lr = (t.to(self.device, torch.float32) for t in (sr, hr, lr))
            values = evaluate(sr, hr, lr, metrics=wanted, scale=self.scale,
                              crop_border=self.crop_border, weights_dir=self.weights_dir)
        for name, value in values.items():
            if isinstance(value, str):
                self.unavailable[name] = value
        return {name: values.get(name, self.unavailable.get(name, "")) for name in self.metrics}


@dataclass
class MetricMeans:
    """Running means of each metric; a metric unavailable on any image is unavailable for the whole row."""

    names: list[str]
    _sums: dict[str, float] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)
    _unavailable: dict[str, str] = field(default_factory=dict)

    def add(self, values: MetricValues) -> None:
        for name, value in values.items():
            if isinstance(value, str):
                self._unavailable.setdefault(name, value)
            else:
                self._sums[name] = self._sums.get(name, 0.0) + float(value)
                self._counts[name] = self._counts.get(name, 0) + 1

    def result(self) -> MetricValues:
        """``{name: mean}``, or the unavailability message; NaN for a metric never added."""
        out: MetricValues = {}
        for name in self.names:
            if name in self._unavailable:
                out[name] = self._unavailable[name]
            elif self._counts.get(name):
                out[name] = self._sums[name] / self._counts[name]
            else:
                out[name] = math.nan
        return out
