"""Fixtures of the in-process CLI tests: the tiny checkpoint and single-threaded torch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.infer import tiny_model as tiny


@pytest.fixture()
def single_thread() -> Iterator[None]:
    """One torch thread during the test (outputs do not depend on the machine's core count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained-format checkpoint, written once per test module."""
    return tiny.save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.safetensors")
