"""Fixtures of the reliability tests: hostile files made on the spot, the tiny checkpoint, one torch thread."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from srkit.io.images import write_image
from tests.infer import tiny_model as tiny
from tests.threads import one_torch_thread

single_thread = pytest.fixture(autouse=True)(one_torch_thread)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained-format checkpoint, written once per test module."""
    return tiny.save_tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    """Two small readable images in ``tmp_path/in``."""
    rng = np.random.default_rng(0)
    write_image(tmp_path / "in" / "a.png", (rng.random((8, 10, 3)) * 255).astype(np.uint8))
    write_image(tmp_path / "in" / "b.png", (rng.random((6, 6, 3)) * 255).astype(np.uint8))
    return tmp_path / "in"


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A valid-looking PNG (correct chunk CRCs) whose header declares ``width x height`` over a 1x1 image's data."""
    write_image(path, np.zeros((1, 1, 3), np.uint8))
    data = bytearray(path.read_bytes())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))  # IHDR: type + 13 bytes, CRC after
    path.write_bytes(bytes(data))
    return path
