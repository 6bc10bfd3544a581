"""Model checkpoints written by training, and weights read from other runs (``--init``, autoencoders).

A model checkpoint is one self-contained safetensors file (see
:mod:`srkit.model.loading`): tensors ``net.*`` / ``decoder.*`` / ``autoencoder.*``
and metadata ``kind``, ``recipe`` (JSON of ``recipe.to_dict()``), ``step``,
``params``, ``recipe_name``, ``model_id`` and ``srkit_version``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch

from srkit.errors import WeightsError
from srkit.io.checkpoints import load_checkpoint, save_checkpoint
from srkit.nets.config import WEIGHT_FREE_SETTINGS
from srkit.recipes import Recipe

AUTOENCODER_KIND = "srkit-autoencoder"


def save_model(path: Path, tensors: Mapping[str, torch.Tensor], recipe: Recipe, *, kind: str, step: int) -> str:
    """Write a model checkpoint atomically; returns its model id."""
    data = recipe.to_dict()
    params = sum(t.numel() for name, t in tensors.items() if t.is_floating_point() and not name.startswith("autoencoder."))
    meta = save_checkpoint(path, tensors, {
        "kind": kind,
        "step": step,
        "recipe": data,
        "network": data.get("network") or {},
        "params": params,
        "recipe_name": recipe.name,
    })
    return meta.model_id


def _first_difference(stored: Any, expected: Any, path: str = "") -> str | None:
    """Dotted path of the first field where two plain-data configs differ."""
    if isinstance(stored, dict) and isinstance(expected, dict):
        for key in sorted(set(stored) | set(expected)):
            found = _first_difference(stored.get(key), expected.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return None if stored == expected else f"{path} ({stored!r} there, {expected!r} here)"


def _weight_defining(block: Mapping[str, Any]) -> dict[str, Any]:
    """A network block as plain data, without the settings that define no weights."""
    return {k: v for k, v in json.loads(json.dumps(dict(block))).items() if k not in WEIGHT_FREE_SETTINGS}


def load_prefixed_weights(path: str | Path, prefix: str, *, section: str, expected: Mapping[str, Any] | None,
                          flag: str) -> dict[str, torch.Tensor]:
    """The ``prefix.*`` tensors of a checkpoint (prefix removed), after checking its network block.

    ``section`` names the recipe block the weights belong to (``network`` or
    ``autoencoder``); ``expected`` is that block of the current recipe as plain
    data. A checkpoint whose stored block differs (settings that define no
    weights, ``WEIGHT_FREE_SETTINGS``, may differ) raises one ``WeightsError``
    line naming the first differing field; ``flag`` names the option in it.
    """
    path = Path(path)
    tensors, meta = load_checkpoint(path)
    stored_recipe = meta.recipe if isinstance(meta.recipe, Mapping) else {}
    stored = stored_recipe.get(section) or (stored_recipe.get("network") if meta.kind == AUTOENCODER_KIND else None)
    if expected is not None and stored:
        difference = _first_difference(_weight_defining(stored), _weight_defining(expected))
        if difference:
            raise WeightsError(f"{flag} {path}: its {section} block differs from this recipe's at {difference}; "
                               f"use weights trained with the same {section} block")
    group = {name[len(prefix) + 1:]: t for name, t in tensors.items() if name.startswith(prefix + ".")}
    if not group:
        raise WeightsError(f"{flag} {path} holds no '{prefix}.*' weights (kind '{meta.kind}'); pass a checkpoint from `srkit train`")
    return group
