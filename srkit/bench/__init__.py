"""Benchmarks and stability measurements (library form of ``srkit bench`` and ``srkit stability``).

* :func:`run_bench`, :class:`BenchRow`, :class:`BenchResult` - compare methods on one dataset (``benchmark``).
* :func:`run_stability`, :class:`StabilityResult` - mean, G-STD and L-STD over N runs (``stability``).
* :func:`open_dataset`, :class:`BenchDataset` - HR images and their LR inputs (``dataset``).
* :func:`parse_method_spec`, :class:`MethodSpec` - ``METHOD[:STEPS[:SAMPLER[:ORDER]]]`` rows (``specs``).
"""

from srkit.bench.benchmark import BenchResult, BenchRow, RowResult, run_bench
from srkit.bench.dataset import BenchDataset, open_dataset
from srkit.bench.specs import MethodSpec, parse_method_spec, parse_method_specs, sampler_for
from srkit.bench.stability import ImageStability, StabilityResult, run_stability

__all__ = [
    "BenchDataset",
    "BenchResult",
    "BenchRow",
    "ImageStability",
    "MethodSpec",
    "RowResult",
    "StabilityResult",
    "open_dataset",
    "parse_method_spec",
    "parse_method_specs",
    "run_bench",
    "run_stability",
    "sampler_for",
]
