"""One intra-op torch thread for a test: tiny tensors gain nothing from threads, and on a shared 2-core machine extra threads stall."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def one_torch_thread() -> Iterator[None]:
    """Generator for an autouse fixture: ``single_thread = pytest.fixture(autouse=True)(one_torch_thread)``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
