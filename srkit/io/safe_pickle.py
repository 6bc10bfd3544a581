"""Read pickled weights without running code: every global a pickle names is checked against an allow-list.

A pickle can name any importable callable and have it called while loading.
Two readers, both refusing anything outside an explicit list *before* it is
called, with a one-line :class:`~srkit.errors.WeightsError` naming the global:

- :func:`load_torch_pickle`: ``torch.save`` files (zip or legacy) through torch's
  own ``weights_only`` unpickler, plus the extra globals a caller allows.
- :func:`load_plain_pickle`: plain ``pickle.dump`` files (e.g. numpy-pickled
  weights, which torch's reader cannot parse) through a :class:`pickle.Unpickler`
  whose ``find_class`` resolves only allowed ``module.name`` strings.
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srkit.errors import WeightsError

_GLOBAL_NAMED = re.compile(r"GLOBAL ([\w.]+)")


def numpy_array_globals() -> dict[str, Any]:
    """``module.name`` -> object for a pickle of plain numpy arrays, under numpy 1 and numpy 2 spellings."""
    core = np._core if hasattr(np, "_core") else np.core  # numpy 2 renamed the private package
    allowed: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for package in ("numpy.core", "numpy._core"):
        allowed[f"{package}.multiarray._reconstruct"] = core.multiarray._reconstruct
        allowed[f"{package}.multiarray.scalar"] = core.multiarray.scalar
    return allowed


class _AllowListUnpickler(pickle.Unpickler):
    """Resolves only the globals in ``allowed``; any other name raises before anything is imported or called."""

    def __init__(self, handle: Any, allowed: Mapping[str, Any]) -> None:
        super().__init__(handle)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full not in self._allowed:
            raise pickle.UnpicklingError(f"GLOBAL {full} was not an allowed global")
        return self._allowed[full]

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids (torch storages) are not plain-pickle data")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _refusal(path: Path, err: BaseException) -> WeightsError:
    found = _GLOBAL_NAMED.search(str(err))
    if found:
        return WeightsError(f"{path} refers to {found.group(1)}, which srkit never loads (only tensors, arrays and plain containers)")
    return WeightsError(f"cannot read {path} as pickled weights: {_first_line(err)}")


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")


def load_plain_pickle(path: str | Path, *, allow: Mapping[str, Any]) -> Any:
    """Unpickle a plain pickle, resolving only the ``module.name`` globals in ``allow``."""
    path = Path(path)
    _check_exists(path)
    try:
        with open(path, "rb") as handle:
            return _AllowListUnpickler(handle, allow).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise _refusal(path, err) from None


def load_torch_pickle(path: str | Path, *, allow: Iterable[Any] = (), mmap: bool = False) -> Any:
    """Load a ``torch.save`` file with torch's ``weights_only`` unpickler plus the globals in ``allow``; tensors on CPU."""
    path = Path(path)
    _check_exists(path)
    try:
        with torch.serialization.safe_globals(list(allow)), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:
        raise _refusal(path, err) from None
