"""Fixtures for the metrics tests: empty library caches, so nothing can be found or fetched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch.hub

from srkit.metrics.perceptual import load_learned_metric


@pytest.fixture
def empty_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point torch hub and the Hugging Face cache at empty folders under ``tmp_path``; forget built metrics."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    load_learned_metric.cache_clear()
    yield tmp_path
    load_learned_metric.cache_clear()
