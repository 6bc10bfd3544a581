"""Benchmarks and stability measurements (library form of ``srkit bench`` and ``srkit stability``).

* :func:`run_bench`, :class:`BenchRow`, :class:`BenchResult` - compare methods on one dataset (``benchmark``).
* :func:`run_stability`, :class:`StabilityResult` - mean, G-STD and L-STD over N runs (``stability``).
* :func:`open_dataset`, :class:`BenchDataset` - HR images and their LR inputs (``dataset``).
* :func:`parse_method_spec`, :class:`MethodSpec` - ``METHOD[:STEPS[:SAMPLER[:ORDER]]]`` rows (``specs``).

Names resolve lazily so ``srkit.bench.specs`` stays importable without torch.
"""

from __future__ import annotations

from srkit._lazy import lazy_getattr

_EXPORTS = {
    "run_bench": "benchmark",
    "BenchRow": "benchmark",
    "BenchResult": "benchmark",
    "RowResult": "benchmark",
    "run_stability": "stability",
    "StabilityResult": "stability",
    "ImageStability": "stability",
    "open_dataset": "dataset",
    "BenchDataset": "dataset",
    "MethodSpec": "specs",
    "parse_method_spec": "specs",
    "parse_method_specs": "specs",
    "sampler_for": "specs",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr('srkit.bench', _EXPORTS)
