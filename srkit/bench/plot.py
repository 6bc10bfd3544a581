"""The perception-distortion plot of a benchmark (Blau & Michaeli, CVPR 2018): one point per row.

x = PSNR on Y (distortion; right is better), y = LPIPS, or else the first
perceptual metric of the run that has a value. Drawn with :func:`srkit.plotting.scatter_plot`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Perceptual metrics in order of preference for the y axis (full-reference first).
PERCEPTUAL_PREFERENCE = ("lpips", "lpips_vgg", "dists", "topiq_fr", "musiq", "maniqa", "topiq", "clipiqa", "niqe", "brisque")
DISTORTION_METRIC = "psnr"


def _has_values(rows: Sequence[Mapping[str, object]], name: str) -> bool:
    return any(isinstance(row.get(name), float) and math.isfinite(row[name]) for row in rows)  # type: ignore[arg-type]


def plot_axes(metric_rows: Sequence[Mapping[str, object]]) -> tuple[str, str] | None:
    """``(x metric, y metric)`` for the plot, or None when PSNR or every perceptual metric is missing."""
    if not _has_values(metric_rows, DISTORTION_METRIC):
        return None
    for name in PERCEPTUAL_PREFERENCE:
        if _has_values(metric_rows, name):
            return DISTORTION_METRIC, name
    return None


def perception_distortion_plot(path: Path, labels: Sequence[str], metric_rows: Sequence[Mapping[str, object]]) -> Path | None:
    """Write the plot to ``path`` (PNG); None when the run has no PSNR or no perceptual metric to plot."""
    from srkit.metrics import METRICS
    from srkit.plotting import scatter_plot

    axes = plot_axes(metric_rows)
    if axes is None:
        return None
    x_name, y_name = axes
    points = [
        (row[x_name], row[y_name], label)
        for label, row in zip(labels, metric_rows)
        if isinstance(row.get(x_name), float) and isinstance(row.get(y_name), float)
    ]
    y_info = METRICS[y_name]
    return scatter_plot(
        path,
        points,  # type: ignore[arg-type]
        title="Perception-distortion",
        xlabel=f"PSNR-Y (dB) {METRICS[x_name].arrow}",
        ylabel=f"{y_name.upper()} {y_info.arrow}",
    )
