"""One call for bench and stability: every requested metric of one SR result.

A metric that cannot run (weights missing offline, no HR or LR image to compare
with) gives the string ``"unavailable: ..."`` instead of a number; the other
metrics still run. Everything else (unknown names, malformed inputs) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from srkit.errors import InputError, MetricUnavailable
from srkit.metrics.catalog import METRICS, parse_metrics
from srkit.metrics.consistency import Downscale, lr_consistency
from srkit.metrics.fidelity import ColorSpace, psnr, ssim
from srkit.metrics.perceptual import check_weights, learned_score

#: How far outside [0, 1] an input may stray (float rounding) before it is refused.
RANGE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class _Inputs:
    """An SR result with what it is compared to, and the settings of one evaluation."""

    sr: torch.Tensor
    hr: torch.Tensor | None
    lr: torch.Tensor | None
    crop: int
    color_space: ColorSpace
    weights_dir: Path | None
    downscale: Downscale | None


_COMPUTE: dict[str, Callable[[_Inputs], torch.Tensor]] = {
    "psnr": lambda a: psnr(a.sr, a.hr, crop=a.crop, y_channel=True, color_space=a.color_space),
    "ssim": lambda a: ssim(a.sr, a.hr, crop=a.crop, y_channel=True, color_space=a.color_space),
    "psnr_rgb": lambda a: psnr(a.sr, a.hr, crop=a.crop, y_channel=False),
    "ssim_rgb": lambda a: ssim(a.sr, a.hr, crop=a.crop, y_channel=False),
    "consistency": lambda a: lr_consistency(a.sr, a.lr, downscale=a.downscale),
}


def _compute(name: str, inputs: _Inputs) -> torch.Tensor:
    if name in _COMPUTE:
        return _COMPUTE[name](inputs)
    return learned_score(name, inputs.sr, inputs.hr, weights_dir=inputs.weights_dir)


def _image_batch(img: torch.Tensor, role: str) -> torch.Tensor:
    """Check an NCHW float batch in [0, 1] (up to rounding) and clamp it there."""
    if not isinstance(img, torch.Tensor) or img.ndim != 4 or not img.is_floating_point():
        raise InputError(f"{role} must be a float NCHW tensor in [0, 1]")
    low, high = float(img.min()), float(img.max())
    if low < -RANGE_TOLERANCE or high > 1.0 + RANGE_TOLERANCE:
        raise InputError(
            f"{role} values span [{low:.3g}, {high:.3g}], not [0, 1]: map engine outputs with (x + 1) / 2, uint8 with x / 255"
        )
    return img.clamp(0.0, 1.0)


def _missing_input(name: str, inputs: _Inputs) -> str | None:
    info = METRICS[name]
    if info.needs_reference and inputs.hr is None:
        return f"unavailable: {name} compares with the HR image and none was given"
    if info.needs_lr and inputs.lr is None:
        return f"unavailable: {name} compares with the LR input and none was given"
    return None


def evaluate(
    sr: torch.Tensor,
    hr: torch.Tensor | None = None,
    lr: torch.Tensor | None = None,
    *,
    metrics: str | Sequence[str],
    scale: int,
    crop_border: int | None = None,
    weights_dir: Path | None = None,
    color_space: ColorSpace = "ycbcr",
    downscale: Downscale | None = None,
) -> dict[str, float | str]:
    """Metrics of one SR result, averaged over the batch: ``{name: value or "unavailable: ..."}``.

    ``sr``, ``hr`` (same shape) and ``lr`` are NCHW float in [0, 1]; learned
    metrics run on ``sr``'s device. ``crop_border`` (PSNR/SSIM only) defaults to
    ``scale``. ``color_space`` picks the luma of ``psnr``/``ssim``: ``ycbcr``
    (BT.601, the SR papers' Y) or ``yiq`` (pyiqa's default). ``downscale`` is the
    operator that made ``lr`` (default: antialiased bicubic), for consistency.
    """
    names = parse_metrics(metrics) if isinstance(metrics, str) else parse_metrics(",".join(metrics))
    if scale < 1:
        raise InputError(f"scale must be >= 1, got {scale}")
    inputs = _Inputs(
        sr=_image_batch(sr, "SR"),
        hr=None if hr is None else _image_batch(hr, "HR"),
        lr=None if lr is None else _image_batch(lr, "LR"),
        crop=scale if crop_border is None else crop_border,
        color_space=color_space,
        weights_dir=None if weights_dir is None else Path(weights_dir),
        downscale=downscale,
    )
    if inputs.hr is not None and inputs.hr.shape != inputs.sr.shape:
        raise InputError(f"SR {tuple(inputs.sr.shape)} and HR {tuple(inputs.hr.shape)} differ in shape")
    results: dict[str, float | str] = {}
    for name in names:
        missing = _missing_input(name, inputs)
        if missing is not None:
            results[name] = missing
            continue
        try:
            results[name] = float(_compute(name, inputs).mean())
        except MetricUnavailable as err:
            results[name] = str(err)
    return results


def unavailable_metrics(metrics: Sequence[str], weights_dir: Path | None = None) -> dict[str, str]:
    """Pre-flight for a run: ``{name: "unavailable: ..."}`` for each metric whose weights are missing."""
    problems: dict[str, str] = {}
    for name in parse_metrics(",".join(metrics)):
        if METRICS[name].needs_weights:
            try:
                check_weights(name, None if weights_dir is None else Path(weights_dir))
            except MetricUnavailable as err:
                problems[name] = str(err)
    return problems
