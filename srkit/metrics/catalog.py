"""What each metric is: direction, inputs, weights, unit. Pure data, importable without torch.

The names are those of ``srkit bench --metrics`` / ``srkit stability --metrics``.
``psnr``/``ssim`` are on the Y channel (BT.601 YCbCr, cropped by ``--crop-border``,
default the scale); ``*_rgb`` on the three RGB channels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from srkit.errors import UsageError


@dataclass(frozen=True)
class MetricInfo:
    """One metric as bench/stability tables need it."""

    name: str
    higher_is_better: bool
    unit: str
    needs_reference: bool = True  # compares the SR output with the HR image
    needs_lr: bool = False  # compares the SR output with the LR input
    needs_weights: bool = False  # loads pretrained files (see srkit.metrics.perceptual)

    @property
    def arrow(self) -> str:
        """``↑`` or ``↓``, as in the papers' table headers."""
        return "↑" if self.higher_is_better else "↓"


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("psnr", higher_is_better=True, unit="dB, Y channel"),
        MetricInfo("ssim", higher_is_better=True, unit="Y channel, 8-bit levels"),
        MetricInfo("psnr_rgb", higher_is_better=True, unit="dB, RGB"),
        MetricInfo("ssim_rgb", higher_is_better=True, unit="RGB, 8-bit levels"),
        MetricInfo("lpips", higher_is_better=False, unit="LPIPS v0.1, AlexNet", needs_weights=True),
        MetricInfo("lpips_vgg", higher_is_better=False, unit="LPIPS v0.1, VGG16", needs_weights=True),
        MetricInfo("dists", higher_is_better=False, unit="DISTS", needs_weights=True),
        MetricInfo("topiq_fr", higher_is_better=True, unit="TOPIQ-FR (KADID)", needs_weights=True),
        MetricInfo("niqe", higher_is_better=False, unit="NIQE (MATLAB grey)", needs_reference=False, needs_weights=True),
        MetricInfo("brisque", higher_is_better=False, unit="BRISQUE (LIVE SVR)", needs_reference=False, needs_weights=True),
        MetricInfo("musiq", higher_is_better=True, unit="MUSIQ (KonIQ), ~0-100", needs_reference=False, needs_weights=True),
        MetricInfo("clipiqa", higher_is_better=True, unit="CLIP-IQA, 0-1", needs_reference=False, needs_weights=True),
        MetricInfo("maniqa", higher_is_better=True, unit="MANIQA (KonIQ)", needs_reference=False, needs_weights=True),
        MetricInfo("topiq", higher_is_better=True, unit="TOPIQ-NR (KonIQ)", needs_reference=False, needs_weights=True),
        MetricInfo(
            "consistency",
            higher_is_better=False,
            unit="MSE(down(SR), LR), pixels in [0,1]; DREAM prints x1e5",
            needs_reference=False,
            needs_lr=True,
        ),
    )
}


def parse_metrics(spec: str) -> list[str]:
    """``"psnr,ssim lpips"`` -> ``["psnr", "ssim", "lpips"]``; UsageError names any unknown metric."""
    names = [name for name in re.split(r"[,\s]+", spec.strip().lower()) if name]
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise UsageError(f"unknown metric(s) {', '.join(unknown)}: choose from {', '.join(METRICS)}")
    if not names:
        raise UsageError(f"no metric given: choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(names))
