"""Training state (raw weights, optimisers, EMA, loss scaler, step) as safetensors + JSON, no pickles.

Optimiser and EMA state dicts are nested dicts/lists of tensors and numbers.
:func:`flatten` moves every tensor into a flat ``name -> tensor`` map and
leaves a JSON skeleton with ``{"$tensor": name}`` placeholders; dicts with
non-string keys (an optimiser's ``{param_index: state}``) and tuples are
tagged so :func:`unflatten` rebuilds exactly the same structure. The file is
written with :func:`srkit.io.checkpoints.save_checkpoint` (atomic, hashed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch

from srkit.errors import UsageError, WeightsError
from srkit.io.checkpoints import load_checkpoint, save_checkpoint

STATE_KIND = "srkit-train-state"
_TENSOR, _ITEMS, _TUPLE = "$tensor", "$items", "$tuple"


def flatten(obj: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """JSON skeleton of ``obj``; its tensors are added to ``tensors`` under their dotted path."""
    if isinstance(obj, torch.Tensor):
        name = path or "tensor"
        if name in tensors:
            name = f"{name}#{len(tensors)}"
        tensors[name] = obj.detach()
        return {_TENSOR: name}
    if isinstance(obj, Mapping):
        keys = list(obj)
        if all(isinstance(k, str) and not k.startswith("$") for k in keys):
            return {k: flatten(v, tensors, f"{path}.{k}" if path else k) for k, v in obj.items()}
        return {_ITEMS: [[flatten(k, tensors, f"{path}.key"), flatten(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {_TUPLE: [flatten(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise UsageError(f"cannot store a {type(obj).__name__} at '{path}' in the training state")


def unflatten(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(skeleton, dict):
        if set(skeleton) == {_TENSOR}:
            return tensors[skeleton[_TENSOR]]
        if set(skeleton) == {_ITEMS}:
            return {unflatten(k, tensors): unflatten(v, tensors) for k, v in skeleton[_ITEMS]}
        if set(skeleton) == {_TUPLE}:
            return tuple(unflatten(v, tensors) for v in skeleton[_TUPLE])
        return {k: unflatten(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    return skeleton


def save_train_state(path: str | Path, state: Mapping[str, Any], *, step: int) -> None:
    """Write a nested state (e.g. ``{"modules": ..., "optimizers": ..., "ema": ...}``) to ``path`` atomically."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten(dict(state), tensors)
    save_checkpoint(path, tensors, {"kind": STATE_KIND, "step": step, "state": json.dumps(skeleton)})


def load_train_state(path: str | Path) -> tuple[dict[str, Any], int]:
    """Read a state written by :func:`save_train_state`: ``(state, step)``; tensors are on CPU."""
    tensors, meta = load_checkpoint(path)
    if meta.kind != STATE_KIND or "state" not in meta.extra:
        raise WeightsError(f"{path} is not an srkit training state file (kind '{meta.kind}')")
    return unflatten(json.loads(meta.extra["state"]), tensors), int(meta.step)
