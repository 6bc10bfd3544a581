"""Inference tests run tiny tensors: one intra-op thread avoids oversubscription on a shared CPU."""

from __future__ import annotations

import pytest

from tests.threads import one_torch_thread

single_thread = pytest.fixture(autouse=True)(one_torch_thread)
