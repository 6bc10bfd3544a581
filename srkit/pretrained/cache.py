"""Converted pretrained weights, cached as safetensors files that are checked on every load.

``load_converted(name, sources, convert)`` returns the tensors of conversion
``name``. The first call locates each :class:`~srkit.pretrained.sources.PackageFile`,
checks its sha256 against the pinned one, runs ``convert`` and writes
``<cache>/<name>.safetensors`` atomically (:func:`srkit.io.atomic.atomic_path`).
Its metadata records the converter version, the source files' sha256 and the
sha256 of the tensors themselves (:func:`srkit.io.checkpoints.model_id`'s byte
layout, full length). Later calls read the file and use it only if all three
match; a file that is unreadable, truncated or edited is converted again and
replaced, so a corrupt cache heals itself.

The cache folder is ``$SRKIT_CACHE`` if set, else ``$XDG_CACHE_HOME/srkit``,
else ``~/.cache/srkit``; ``folder=`` overrides it per call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from srkit.errors import UsageError
from srkit.io.atomic import atomic_path
from srkit.io.checkpoints import tensors_sha256
from srkit.pretrained.sources import PackageFile

CACHE_ENV = "SRKIT_CACHE"
_KIND = "srkit-pretrained"
_MAX_HEADER = 1 << 24  # bytes; a larger safetensors header means a corrupt file

Converter = Callable[[Mapping[PackageFile, Path]], dict[str, torch.Tensor]]


def cache_dir() -> Path:
    """``$SRKIT_CACHE``, else ``$XDG_CACHE_HOME/srkit``, else ``~/.cache/srkit`` (resolved when asked)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(xdg).expanduser() / "srkit"


def _expected_metadata(name: str, version: int, sources: Sequence[PackageFile]) -> dict[str, str]:
    return {
        "kind": _KIND,
        "name": name,
        "converter_version": str(version),
        "sources": json.dumps({source.label: source.sha256 for source in sources}, sort_keys=True),
    }


def _read_valid(path: Path, expected: Mapping[str, str]) -> dict[str, torch.Tensor] | None:
    """The cached tensors if ``path`` is a complete, unmodified conversion matching ``expected``; else None."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:  # metadata first: a stale file is not read in full
            header_len = int.from_bytes(handle.read(8), "little")
            if header_len > _MAX_HEADER:
                return None
            header = json.loads(handle.read(header_len))
        metadata = header.get("__metadata__", {})
        if any(metadata.get(key) != value for key, value in expected.items()):
            return None
        tensors = load_file(str(path))
    except (OSError, ValueError, SafetensorError, AttributeError):
        return None
    return tensors if tensors_sha256(tensors) == metadata.get("tensors_sha256") else None


def load_converted(
    name: str,
    sources: Sequence[PackageFile],
    convert: Converter,
    *,
    version: int = 1,
    folder: Path | None = None,
) -> dict[str, torch.Tensor]:
    """Tensors of conversion ``name`` of ``sources``: from the cache when valid, else converted and cached.

    Raises MetricUnavailable (one line) when a package is missing or a source
    file is not the verified one. Bump ``version`` when ``convert`` changes.
    """
    paths = {source: source.path() for source in sources}
    target = (cache_dir() if folder is None else Path(folder)) / f"{name}.safetensors"
    expected = _expected_metadata(name, version, sources)
    cached = _read_valid(target, expected)
    if cached is not None:
        return cached
    for source, path in paths.items():
        source.verify(path)
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in convert(paths).items()}
    metadata = {**expected, "tensors_sha256": tensors_sha256(tensors)}
    try:
        with atomic_path(target) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
    except (OSError, UsageError):
        pass  # a read-only cache folder costs a conversion per process, not a failure
    return tensors
