"""On-the-fly degradation for training: sample per-pair values, then :func:`srkit.degrade.pipeline.apply`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from srkit.degrade.ops import JpegBackend
from srkit.degrade.params import DegradationParams
from srkit.degrade.pipeline import apply
from srkit.degrade.preset import DegradationPreset, load_preset
from srkit.degrade.sampling import pair_rng, sample_params
from srkit.errors import UsageError

_SEED_BOUND = 2**62


class TrainingPairs(NamedTuple):
    """One degraded batch: ``lr`` (N,C,H/s,W/s), ``hr`` and the values drawn.

    ``hr`` is the training target: the input, USM-sharpened when the preset says so.
    """

    lr: torch.Tensor
    hr: torch.Tensor
    params: list[DegradationParams]


def _pair_seeds(generator: np.random.Generator | torch.Generator, count: int) -> list[int]:
    """``count`` pair seeds from the caller's generator (numpy or torch)."""
    if isinstance(generator, np.random.Generator):
        return [int(s) for s in generator.integers(_SEED_BOUND, size=count)]
    if isinstance(generator, torch.Generator):
        return [
            int(s) for s in torch.randint(_SEED_BOUND, (count,), generator=generator, device=generator.device).tolist()
        ]
    raise UsageError(f"expected a numpy.random.Generator or torch.Generator, got {type(generator).__name__}")


class RandomDegradation:
    """Degrade HR batches with fresh draws from a preset: ``pairs = RandomDegradation("resshift", 4)(hr, gen)``.

    Each image gets its own ``numpy`` Generator seeded from one draw of the caller's
    generator, so a pair depends on that draw only (not on batch composition).
    """

    def __init__(
        self,
        preset: str | DegradationPreset,
        scale: int,
        device: torch.device | str = "cpu",
        jpeg_backend: JpegBackend = "opencv",
    ) -> None:
        if int(scale) != scale or scale < 1:
            raise UsageError(f"scale must be a positive integer, got {scale}")
        self.preset = load_preset(preset)
        self.scale = int(scale)
        self.device = torch.device(device)
        self.jpeg_backend = jpeg_backend

    def sample(self, count: int, generator: np.random.Generator | torch.Generator) -> list[DegradationParams]:
        """Draw ``count`` parameter sets."""
        return [sample_params(self.preset, pair_rng(seed), self.scale) for seed in _pair_seeds(generator, count)]

    def __call__(self, hr: torch.Tensor, generator: np.random.Generator | torch.Generator) -> TrainingPairs:
        """Degrade ``hr`` (N,C,H,W in [0, 1], sides multiples of the scale) with new random values."""
        params = self.sample(hr.shape[0], generator)
        lr, target = apply(hr, params, device=self.device, jpeg_backend=self.jpeg_backend)
        return TrainingPairs(lr=lr, hr=target, params=params)
