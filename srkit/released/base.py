"""The contract between srkit and a family of released (official) checkpoints.

A family converts an official state dict (already read safely, tensors only)
into srkit tensors plus a JSON-able ``config``; the converted file is an
ordinary safetensors checkpoint whose metadata carries ``kind="srkit-released"``,
``family``, ``config``, ``licence``, ``source_sha256`` and ``source_name``.
Loading it gives a :class:`ReleasedPipeline`, which the tiled inference runs
exactly like a model trained with srkit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import Tensor

from srkit.diffusion.noise import Noise

RELEASED_KIND = "srkit-released"
StepCallback = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class ConvertedModel:
    """srkit-named tensors of one released model and the config its loader needs (JSON-able)."""

    tensors: dict[str, Tensor]
    config: dict[str, Any]
    ignored: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class OfficialChop:
    """How an official script chops a large image: LR tiles of ``size`` pixels every ``stride``.

    ResShift's ``ImageSpliterTh`` (:func:`srkit.infer.tiling.chop_starts`): a side longer than
    ``size`` is cut at ``0, stride, 2 stride, ...``, a start that would run past the end moved
    back to ``side - size``; a side of at most ``size`` is one tile. Each tile is sampled on
    its own, one after the other with one random generator, and the outputs are averaged
    uniformly where tiles overlap.
    """

    size: int
    stride: int

    def __post_init__(self) -> None:
        if not 0 < self.stride <= self.size:
            raise ValueError(f"chop stride must be in (0, size], got size {self.size}, stride {self.stride}")


class ReleasedPipeline(Protocol):
    """What tiled inference needs from a model (the same surface as a trained srkit model).

    ``super_resolve(lr)`` maps an RGB batch (B, 3, h, w) in [0, 1] to
    ((B, 3, h*scale, w*scale) in [0, 1], NFE). ``noise`` is the start noise of
    shape :meth:`start_shape` where the official sampler starts from one;
    ``generator`` drives every other draw, in the official order.

    A pipeline that resizes its input as its official script does (so its state grid is
    not the LR grid times ``scale``) also has ``position_keyed = False``; tiled inference
    then runs its tiles one by one with one generator per image and no given start noise
    (:func:`srkit.model.surface.position_keyed`). A pipeline whose script chops large
    images has ``official_chop`` (an :class:`OfficialChop`), which ``--tile auto`` follows.
    """

    scale: int
    latent_factor: int
    model_id: str
    licence: str

    @property
    def device(self) -> torch.device: ...

    def start_shape(self, lr_shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]: ...

    def super_resolve(
        self,
        lr: Tensor,
        *,
        noise: Tensor | None = None,
        generator: Noise | None = None,
        callback: StepCallback | None = None,
    ) -> tuple[Tensor, int]: ...


class ReleasedFamily(Protocol):
    """One ``srkit convert --from NAME`` value: how to recognise, convert and load it."""

    name: str
    licence: str
    description: str

    def looks_like(self, keys: set[str]) -> bool: ...

    def convert(self, state: Mapping[str, Tensor]) -> ConvertedModel: ...

    def load(self, tensors: Mapping[str, Tensor], config: Mapping[str, Any], *, device: torch.device, precision: str) -> ReleasedPipeline: ...
