"""Seeds that do not depend on batching or sharding, and a position-keyed start-noise field.

Every image gets its own seed from ``(seed, key)`` (the key is the image's
relative path), so its output is the same whatever other images share its
batch or its process. The start noise of an image is a :class:`NoiseField`: a
standard-normal field over the whole state (pixel or latent) grid, drawn block
by block from per-block seeds. Any crop of it is the same numbers whether the
image is processed whole or tile by tile, and the full field never needs to be
held in memory.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from torch import Tensor

SEED_BITS = 63
NOISE_BLOCK = 64


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit seed from ``seed`` and any keys: ``sha256("seed/key1/key2...")``, stable across runs and machines."""
    text = "/".join(str(part) for part in (seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> (64 - SEED_BITS)


def cpu_generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (draws on CPU reproduce on every device)."""
    return torch.Generator(device="cpu").manual_seed(seed)


@dataclass(frozen=True)
class NoiseField:
    """Standard-normal noise of shape ``(channels, height, width)``, defined block by block.

    Block ``(i, j)`` (``block x block`` state pixels) is ``randn(channels, block, block)``
    from a CPU generator seeded with ``derive_seed(seed, "noise", i, j)``; the field is
    their mosaic, cut to ``height x width``. :meth:`crop` draws only the blocks it needs.
    """

    seed: int
    channels: int
    height: int
    width: int
    block: int = NOISE_BLOCK

    def _block(self, i: int, j: int) -> Tensor:
        return torch.randn(self.channels, self.block, self.block, generator=cpu_generator(derive_seed(self.seed, "noise", i, j)))

    def crop(self, top: int, left: int, height: int, width: int) -> Tensor:
        """The field on rows ``[top, top+height)`` and columns ``[left, left+width)`` as ``(C, height, width)``."""
        if top < 0 or left < 0 or top + height > self.height or left + width > self.width:
            raise ValueError(f"crop {top}:{top + height}, {left}:{left + width} is outside the {self.height}x{self.width} field")
        b = self.block
        out = torch.empty(self.channels, height, width)
        for i in range(top // b, (top + height - 1) // b + 1):
            for j in range(left // b, (left + width - 1) // b + 1):
                r0, r1 = max(top, i * b), min(top + height, (i + 1) * b)
                c0, c1 = max(left, j * b), min(left + width, (j + 1) * b)
                out[:, r0 - top : r1 - top, c0 - left : c1 - left] = self._block(i, j)[:, r0 - i * b : r1 - i * b, c0 - j * b : c1 - j * b]
        return out

    def full(self) -> Tensor:
        """The whole field (small images only)."""
        return self.crop(0, 0, self.height, self.width)


@dataclass
class TiledStepNoise:
    """The per-step noise of a tiled run (a :class:`~srkit.diffusion.noise.NoiseSource`).

    Draw ``k`` is the field ``NoiseField(derive_seed(seed, "draw", k), ...)`` over the
    whole state grid, cut at each tile's ``boxes`` entry ``(top, left, height, width)``.
    Overlapping tiles thus get the same numbers where they overlap, and a tile's noise
    does not depend on which tiles share its batch.
    """

    seed: int
    channels: int
    height: int
    width: int
    boxes: list[tuple[int, int, int, int]]
    draws: int = 0

    def randn_like(self, x: Tensor) -> Tensor:
        """The next draw for the tiles; a batch of ``m`` times the tiles (e.g. the two halves of a
        classifier-free-guidance batch) takes ``m`` successive draws, one per repeat of the tiles."""
        repeats = max(1, x.shape[0] // max(1, len(self.boxes)))
        parts = []
        for _ in range(repeats):
            field = NoiseField(derive_seed(self.seed, "draw", self.draws), self.channels, self.height, self.width)
            self.draws += 1
            parts.append(torch.stack([field.crop(*box) for box in self.boxes]))
        out = parts[0] if repeats == 1 else torch.cat(parts)
        if out.shape != x.shape:
            raise ValueError(f"tiled step noise of shape {tuple(out.shape)} asked for {tuple(x.shape)}")
        return out
