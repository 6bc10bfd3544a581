"""Image-quality and stability metrics for bench and stability.

* :func:`evaluate` - every requested metric of one SR result (``srkit.metrics.evaluation``).
* :data:`METRICS`, :func:`parse_metrics` - names and metadata, torch-free (``catalog``).
* :func:`psnr`, :func:`ssim`, :func:`rgb_to_y` - pyiqa-compatible fidelity (``fidelity``).
* :func:`lr_consistency` - DREAM/SR3 LR consistency (``consistency``).
* :func:`g_std`, :func:`l_std`, :class:`RunningStd` - CCSR eqs. (4)-(5) (``stability``).
* learned metrics offline (``perceptual``): LPIPS (``lpips_net``), DISTS (``dists``), NIQE (``niqe``) and
  BRISQUE (``brisque``, both on ``nss``) on package-sourced weights (:mod:`srkit.pretrained`);
  MUSIQ, CLIPIQA, MANIQA, TOPIQ through pyiqa with files from the library caches (``weights``).

Names are resolved lazily so that ``srkit.metrics.catalog`` can be used without importing torch.
"""

from __future__ import annotations

from srkit._lazy import lazy_getattr

_EXPORTS = {
    "evaluate": "evaluation",
    "unavailable_metrics": "evaluation",
    "METRICS": "catalog",
    "MetricInfo": "catalog",
    "parse_metrics": "catalog",
    "psnr": "fidelity",
    "ssim": "fidelity",
    "rgb_to_y": "fidelity",
    "crop_border": "fidelity",
    "lr_consistency": "consistency",
    "bicubic_downscale": "consistency",
    "g_std": "stability",
    "l_std": "stability",
    "image_l_std": "stability",
    "RunningStd": "stability",
    "check_weights": "perceptual",
    "learned_score": "perceptual",
    "LEARNED_METRICS": "perceptual",
}

__all__ = list(_EXPORTS)


__getattr__ = lazy_getattr('srkit.metrics', _EXPORTS)
