"""Degradations that turn HR images into LR training pairs: Real-ESRGAN-style presets and bicubic.

Sampling is separate from applying: :func:`sample_params` draws every value of a
pair from a preset with an explicit numpy Generator (:func:`pair_rng`), and
:func:`apply` turns HR tensors plus those values into LR tensors. A manifest of
values replays pairs exactly. Entry points:

- ``degrade_folder(hr_dir, out_dir, ...)``: the library behind ``srkit degrade``;
- ``RandomDegradation(preset, scale, device)(hr, generator)``: on-the-fly training pairs;
- ``load_preset(name_or_path)`` / ``list_presets()``: presets (YAML, validated);
- ``downsample_bicubic`` / ``upsample_bicubic``: the bicubic degradation and ``y``.

Names are imported lazily so ``import srkit.degrade`` does not load torch until
one of them is used (presets and params are torch-free).
"""

from __future__ import annotations

from srkit._callable_package import make_callable
from srkit._lazy import lazy_getattr

_EXPORTS = {
    "BlurSpec": "preset",
    "DegradationPreset": "preset",
    "FinalSpec": "preset",
    "StageSpec": "preset",
    "list_presets": "preset",
    "load_preset": "preset",
    "DegradationParams": "params",
    "FinalParams": "params",
    "KernelParams": "params",
    "NoiseParams": "params",
    "ResizeParams": "params",
    "StageParams": "params",
    "pair_rng": "sampling",
    "sample_params": "sampling",
    "build_kernel": "kernels",
    "CropBox": "crops",
    "crop_to_multiple": "crops",
    "random_crop_box": "crops",
    "downsample_bicubic": "bicubic",
    "upsample_bicubic": "bicubic",
    "DegradedBatch": "pipeline",
    "apply": "pipeline",
    "RandomDegradation": "online",
    "TrainingPairs": "online",
    "PairRecord": "manifest",
    "read_manifest": "manifest",
    "degrade_folder": "folder",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr('srkit.degrade', _EXPORTS)


def _degrade_folder():  # noqa: ANN202 - the folder module imports torch, only when called
    from srkit.degrade.folder import degrade_folder

    return degrade_folder


make_callable(__name__, _degrade_folder)  # ``from srkit import degrade; degrade(hr_dir, out_dir, ...)``
