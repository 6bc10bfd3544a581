"""Find the built-in checkpoints shipped in this package (``srkit/weights/*.safetensors``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from srkit.errors import WeightsError
from srkit.sampler_catalogue import sampler_cli_name

WEIGHTS_DIR = Path(__file__).resolve().parent
BC_SUFFIX = ".bc.safetensors"  # a shipped optimal boundary condition, next to its model


def builtin_weights_path(method: str) -> Path:
    """The shipped checkpoint of ``method``; a WeightsError says how to provide one if absent."""
    path = WEIGHTS_DIR / f"{method}.safetensors"
    if not path.is_file():
        raise WeightsError(
            f"no built-in weights for method '{method}' ({path.name} is not shipped); "
            f"train them with `srkit train --recipe {method} ...` and pass --weights RUN_DIR/final.safetensors"
        )
    return path


def list_builtin_models() -> list[dict[str, Any]]:
    """One row per shipped checkpoint, read from its safetensors metadata (no tensors loaded)."""
    rows = []
    for path in sorted(WEIGHTS_DIR.glob("*.safetensors"), key=lambda p: p.stem):
        if path.name.endswith(BC_SUFFIX):
            continue
        header = _read_header(path)
        meta = dict(header.get("__metadata__", {}))
        rows.append(
            {
                "method": path.stem,
                "file": str(path),
                "model_id": meta.get("model_id", ""),
                "params": meta.get("params", ""),
                "steps": meta.get("step", ""),
                "stage": 2 if any(name.startswith("decoder.") for name in header) else 1,
                "recipe": meta.get("recipe_name", ""),
                "sampler": _default_sampler(meta.get("recipe", "")),
                "bc": (WEIGHTS_DIR / f"{path.stem}{BC_SUFFIX}").is_file(),
            }
        )
    return rows


def _default_sampler(recipe_json: str) -> str:
    """``kind x steps`` of the sampler in a checkpoint's stored recipe (empty if it has none)."""
    try:
        sampler = json.loads(recipe_json).get("sampler", {})
    except (ValueError, AttributeError):
        return ""
    return f"{sampler_cli_name(sampler.get('kind', '?'))} x{sampler.get('steps', '?')}" if sampler else ""


def _read_header(path: Path) -> dict[str, Any]:
    """Read the JSON header of a safetensors file (tensor names and ``__metadata__``) without loading tensors."""
    with path.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        return json.loads(handle.read(size))
