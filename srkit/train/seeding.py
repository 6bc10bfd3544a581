"""Every random draw of a training run, derived from ``(seed, stream, step, micro-batch, rank)``.

Instead of one generator whose state drifts through the run (and would have
to be saved and restored), each step makes fresh generators from a hash of
its coordinates. Resuming at step ``s`` therefore draws exactly what the
uninterrupted run drew at step ``s``, and the draws of a process never depend
on how many processes run beside it or on the batch composition.
"""

from __future__ import annotations

import enum

import numpy as np
import torch


class Stream(enum.IntEnum):
    """Independent purposes that must never share random numbers."""

    DATA_ORDER = 1  # permutation of the training images, per epoch
    CROP = 2  # crop positions and flips/rotations
    DEGRADATION = 3  # on-the-fly degradation parameters
    OBJECTIVE = 4  # timesteps and noise of the diffusion objective
    GLOBAL = 5  # torch's global RNG (dropout and other modules that draw from it)
    STAGE1_SAMPLER = 6  # CCSR stage 2: the frozen stage-1 sampler
    VALIDATION = 7  # validation degradation and sampling (fixed for the whole run)
    INIT = 8  # initial weights


def derive_seed(seed: int, stream: Stream, *coords: int) -> int:
    """A 63-bit seed from ``seed``, the stream and any integer coordinates (numpy's SeedSequence hash)."""
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF, int(stream), *(int(c) for c in coords)]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def numpy_rng(seed: int, stream: Stream, *coords: int) -> np.random.Generator:
    """A numpy Generator for ``(seed, stream, *coords)``."""
    return np.random.default_rng(derive_seed(seed, stream, *coords))


def torch_rng(seed: int, stream: Stream, *coords: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch Generator on ``device`` for ``(seed, stream, *coords)``."""
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(derive_seed(seed, stream, *coords))
    return generator
