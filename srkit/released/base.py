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


class ReleasedPipeline(Protocol):
    """What tiled inference needs from a model (the same surface as a trained srkit model).

    ``super_resolve(lr)`` maps an RGB batch (B, 3, h, w) in [0, 1] to
    ((B, 3, h*scale, w*scale) in [0, 1], NFE). ``noise`` is the start noise of
    shape :meth:`start_shape` where the official sampler starts from one;
    ``generator`` drives every other draw, in the official order.
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
