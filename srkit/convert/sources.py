"""Read an official checkpoint file safely: tensors only, memory-mapped where possible.

A torch pickle is read only through :func:`srkit.io.safe_pickle.load_torch_pickle`
(torch's ``weights_only`` unpickler: any global beyond tensors and plain
containers is refused before it is called), memory-mapped when it is a zip-format
file; a safetensors file through ``safetensors``. Wrappers are then unwrapped:
a ``state_dict`` / ``params_ema`` / ``params`` entry, and ``module.`` /
``_orig_mod.`` in key names.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import safe_open
from torch import Tensor

from srkit.errors import WeightsError
from srkit.io.checkpoints import strip_wrapper_name
from srkit.io.file_hash import file_sha256
from srkit.io.safe_pickle import load_torch_pickle

WRAPPERS = ("state_dict", "params_ema", "params", "model")


@dataclass(frozen=True)
class SourceFile:
    """One source checkpoint: its unwrapped tensors, content hash and how it was read."""

    path: Path
    tensors: dict[str, Tensor]
    sha256: str
    mapped: bool

    @property
    def keys(self) -> set[str]:
        return set(self.tensors)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors.values())


def file_format(path: Path) -> str:
    """``"safetensors"``, ``"torch-zip"``, ``"torch-legacy"``; a one-line WeightsError for anything else."""
    if not path.exists():
        raise WeightsError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder; pass the checkpoint file")
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    if zipfile.is_zipfile(path):
        return "torch-zip"
    if head[:1] == b"\x80":
        return "torch-legacy"
    raise WeightsError(f"{path} is not a checkpoint (neither a torch pickle nor a safetensors file)")


def unwrap(obj: Any, path: Path) -> dict[str, Tensor]:
    """The flat ``name -> tensor`` dict inside ``obj``: wrapper entries and key prefixes removed."""
    while isinstance(obj, Mapping):
        inner = next((obj[w] for w in WRAPPERS if isinstance(obj.get(w), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping) or not obj:
        raise WeightsError(f"{path} holds no state dict (a mapping of tensor names to tensors)")
    out: dict[str, Tensor] = {}
    for key, value in obj.items():
        if not isinstance(value, Tensor):
            raise WeightsError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor")
        name = strip_wrapper_name(str(key))
        if name in out:
            raise WeightsError(f"{path} holds {name!r} twice once wrapper prefixes are removed")
        out[name] = value
    return out


def read_source(path: str | Path) -> SourceFile:
    """Read one checkpoint file (module docstring); tensors stay memory-mapped where the format allows."""
    path = Path(path)
    kind = file_format(path)
    if kind == "safetensors":
        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                raw: Any = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        except Exception as err:  # noqa: BLE001 - SafetensorError has no importable base across versions
            raise WeightsError(f"cannot read {path}: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}") from None
    else:
        raw = load_torch_pickle(path, mmap=kind == "torch-zip")
    return SourceFile(path=path, tensors=unwrap(raw, path), sha256=file_sha256(path), mapped=kind == "torch-zip")
