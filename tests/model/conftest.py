"""Shared fixtures of the model-layer tests: one torch thread."""

from __future__ import annotations

import pytest

from tests.threads import one_torch_thread

single_thread = pytest.fixture(autouse=True)(one_torch_thread)
