"""Session-wide test settings: converted pretrained weights go to a temporary cache, never the user's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_pretrained_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$SRKIT_CACHE`` under pytest's temporary folder for the whole run (converted once per run)."""
    folder = tmp_path_factory.mktemp("srkit-cache")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("SRKIT_CACHE", str(folder))
        yield folder
