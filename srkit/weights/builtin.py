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


def builtin_weights_for(recipe: Any) -> Path:
    """The shipped checkpoint for ``recipe``: its own name's, else that of the nearest recipe it ``extends``
    that has one (a user recipe ``extends: builtin/resshift`` runs on the built-in resshift weights)."""
    try:
        return builtin_weights_path(recipe.name)
    except WeightsError as missing:
        for name in _builtin_ancestors(Path(recipe.source)) if is_user_recipe(recipe) else ():
            if (WEIGHTS_DIR / f"{name}.safetensors").is_file():
                return WEIGHTS_DIR / f"{name}.safetensors"
        raise missing from None


def is_user_recipe(recipe: Any) -> bool:
    """Whether ``recipe`` comes from a user's file, not from the recipes shipped with srkit (whose built-in
    models run with the recipe stored in their checkpoint)."""
    from srkit.recipes import builtin_recipe_dir

    if not recipe or not recipe.source:
        return False
    return builtin_recipe_dir().resolve() not in Path(recipe.source).resolve().parents


def _builtin_ancestors(path: Path) -> list[str]:
    """Names of the ``builtin/`` recipes ``path`` extends, nearest first (``name:`` of each file, else its stem)."""
    from srkit.config_schema import parse_yaml
    from srkit.recipes import builtin_recipe_dir, resolve_recipe_path

    builtin = (builtin_recipe_dir() / "builtin").resolve()

    names: list[str] = []
    seen = {path.resolve()}
    data = parse_yaml(path.read_text(encoding="utf-8"), path) if path.is_file() else None
    while isinstance(data, dict) and isinstance(data.get("extends"), str):
        parent = path.parent / data["extends"]
        path = parent if parent.is_file() else resolve_recipe_path(data["extends"])
        if path.resolve() in seen:
            break
        seen.add(path.resolve())
        data = parse_yaml(path.read_text(encoding="utf-8"), path)
        if isinstance(data, dict) and path.resolve().parent == builtin:
            names.append(str(data.get("name", path.stem)))
    return names


BUILTIN_LICENCE = "Apache-2.0"  # srkit's own training (model cards); for checkpoints without a licence field


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
                "licence": meta.get("licence", BUILTIN_LICENCE),
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
