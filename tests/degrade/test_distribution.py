"""The degradation distribution is unchanged by the speed work: summary statistics of a fixed workload.

``BEFORE`` is the output of ``python benchmarks/degrade_stats.py`` run on the pipeline
before it was batched and given OpenCV filters (srkit commit dfd315c): per preset,
``{statistic: (mean over 64 pairs, standard error)}`` of the LR images (see
``srkit.degrade.summary``). The draws are the same (same seeds), so only the
arithmetic of the ops may differ; a shift of a fifth of a standard error fails.
"""

from __future__ import annotations

import pytest
import torch

from srkit.degrade.summary import STATISTICS, reference_pairs, summarise

BEFORE = {
    "realesrgan": {
        "mean": (0.385825, 0.001858),
        "noise": (3.32067, 0.345096),
        "sharpness": (34.811612, 2.222421),
        "std": (0.181674, 0.004505),
    },
    "resshift": {
        "mean": (0.371003, 0.002054),
        "noise": (3.639007, 0.350844),
        "sharpness": (37.379148, 2.258215),
        "std": (0.196833, 0.005358),
    },
    "stablesr": {
        "mean": (0.385196, 0.001956),
        "noise": (4.03461, 0.436663),
        "sharpness": (41.563723, 2.411425),
        "std": (0.196189, 0.003465),
    },
}
TOLERANCE = 0.2  # in standard errors of the recorded mean


def _shifts(stats: dict[str, tuple[float, float]], reference: dict[str, tuple[float, float]]) -> dict[str, float]:
    """|now - before| of each statistic, in standard errors of the recorded mean."""
    return {k: abs(stats[k][0] - reference[k][0]) / reference[k][1] for k in STATISTICS}


@pytest.mark.parametrize("preset", sorted(BEFORE))
def test_lr_statistics_match_the_pipeline_before_the_speedup(preset: str) -> None:
    shifts = _shifts(summarise(reference_pairs(preset)), BEFORE[preset])
    assert max(shifts.values()) < TOLERANCE, shifts


def test_the_comparison_rejects_a_slightly_noisier_pipeline() -> None:
    lr = reference_pairs("realesrgan")
    g = torch.Generator().manual_seed(1)
    noisier = (lr + torch.randn(lr.shape, generator=g) * (1.0 / 255.0)).clamp(0, 1)
    shifts = _shifts(summarise(noisier), BEFORE["realesrgan"])
    assert max(shifts.values()) > TOLERANCE, shifts


def test_noise_statistic_recovers_the_sigma_of_white_noise_on_a_flat_image() -> None:
    g = torch.Generator().manual_seed(3)
    flat = torch.full((8, 3, 64, 64), 0.5)
    noisy = flat + torch.randn(8, 1, 64, 64, generator=g).expand(8, 3, 64, 64) * (5.0 / 255.0)
    stats = summarise(noisy)
    assert abs(stats["noise"][0] - 5.0) < 0.25 and summarise(flat)["sharpness"][0] == 0.0
    assert abs(stats["mean"][0] - 0.5) < 1e-3 and abs(stats["std"][0] - 5.0 / 255.0) < 1e-3
