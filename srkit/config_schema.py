"""Turn plain YAML mappings into frozen, validated dataclasses.

One generic converter serves every config section in srkit: it walks a
dataclass's type hints, rejects unknown keys (naming the closest valid key),
coerces simple values (int, float, str, bool, Literal, tuple, Optional, nested
dataclasses) and reports wrong types by their dotted field path. Range checks
live in each dataclass's ``__post_init__`` and raise :class:`RecipeError`;
on top of them every number is bounded here (:data:`BOUNDS`, never NaN, infinite
only where a field means something by it) so a typo such as ``steps: 1e12`` or
``base_channels: 100000`` is refused at load instead of hours or gigabytes
later, and :func:`parse_yaml` turns deeply nested or invalid YAML into one line.
No torch import here: the CLI loads recipes on its fast path.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any, Literal, Mapping, TypeVar, Union, get_args, get_origin, get_type_hints

from srkit.errors import RecipeError

T = TypeVar("T")

_BIG = 10**9
#: Sensible ranges ``(low, high)``, inclusive, by dotted field path; ``*.name`` applies to the field ``name`` of any
#: section (the network blocks). Each upper bound is far above the largest published setting (SD's UNet has 320 base
#: channels, DDPM 1000-2000 timesteps), yet small enough that a typo is caught before it allocates or loops for days.
BOUNDS: dict[str, tuple[float, float]] = {
    "process.T": (1, 100_000),
    "process.kappa": (1e-6, 1000),
    "process.power": (1e-6, 100),
    "sampler.steps": (1, 100_000),
    "train.steps": (1, _BIG),
    "train.batch_size": (1, 65_536),
    "train.grad_accum": (1, 65_536),
    "train.lr": (1e-12, 10),
    "train.weight_decay": (0, 100),
    "train.warmup_steps": (0, _BIG),
    "train.grad_clip": (0, 1e6),
    "train.log_every": (1, _BIG),
    "train.val_every": (1, _BIG),
    "train.ckpt_every": (1, _BIG),
    "train.val_images": (1, 100_000),
    "train.workers": (0, 1024),
    "train.seed": (0, 2**63 - 1),
    "stage2.steps": (1, _BIG),
    "stage2.lr": (1e-12, 10),
    "stage2.adv_weight": (0, 1e6),
    "data.crop": (8, 16_384),
    "bc.ref": (1, 10**7),
    "bc.candidates": (1, 10**7),
    "bc.steps": (1, 100_000),
    "bc.crop": (8, 16_384),
    "objective.dream_p": (0, math.inf),
    "*.base_channels": (1, 4096),
    "*.channel_mult": (1, 64),
    "*.num_res_blocks": (1, 64),
    "*.num_heads": (1, 1024),
    "*.head_channels": (1, 4096),
    "*.num_layers": (1, 256),
    "*.hidden": (1, 65_536),
    "*.latent_channels": (1, 1024),
    "*.in_channels": (1, 1024),
    "*.out_channels": (1, 1024),
    "*.cond_channels": (0, 1024),
}
_INT64 = 2**63 - 1
MAX_YAML_DEPTH = 32
MAX_YAML_NODES = 100_000


def _bounds_for(path: str) -> tuple[float, float] | None:
    key = path.split("[", 1)[0]  # list items share their field's bounds
    return BOUNDS.get(key) or BOUNDS.get("*." + key.rsplit(".", 1)[-1])


def check_number(value: float, path: str) -> float:
    """``value`` if it is finite (infinite only where :data:`BOUNDS` allows) and within the bounds of ``path``."""
    bounds = _bounds_for(path)
    if isinstance(value, float) and (math.isnan(value) or (math.isinf(value) and (bounds is None or not math.isinf(bounds[1])))):
        raise RecipeError(f"{path}: must be a finite number, got {value}")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        low, high = (f"{b:g}" for b in bounds)
        raise RecipeError(f"{path}: must lie in [{low}, {high}], got {value:g}")
    if isinstance(value, int) and abs(value) > _INT64:
        raise RecipeError(f"{path}: {value} is out of range (more than 64 bits)")
    return value


def _shape(data: Any) -> tuple[int, int]:
    """Nesting depth and node count of plain YAML data, counting a node each time an alias repeats it (a
    "billion laughs" file is small but expands exponentially); stops early past the limits, without recursion."""
    deepest, nodes, stack = 0, 0, [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest, nodes = max(deepest, depth), nodes + 1
        if depth > MAX_YAML_DEPTH or nodes > MAX_YAML_NODES:
            break
        children = node.values() if isinstance(node, Mapping) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return deepest, nodes


def parse_yaml(text: str, source: Any) -> Any:
    """``yaml.safe_load(text)`` with one-line :class:`RecipeError` for invalid YAML (its line), nesting deeper than
    :data:`MAX_YAML_DEPTH` (which would otherwise end in a RecursionError) or a parser giving up on memory."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RecipeError(f"{source} is not valid YAML{where}") from None
    except (RecursionError, MemoryError):
        raise RecipeError(f"{source} nests deeper than {MAX_YAML_DEPTH} levels; srkit's YAML files are flat") from None
    depth, nodes = _shape(data)
    if depth > MAX_YAML_DEPTH:
        raise RecipeError(f"{source} nests deeper than {MAX_YAML_DEPTH} levels; srkit's YAML files are flat")
    if nodes > MAX_YAML_NODES:
        raise RecipeError(f"{source} expands to more than {MAX_YAML_NODES:,} values (through aliases?); srkit's YAML files are small")
    return data


def closest_key(key: str, valid: typing.Iterable[str]) -> str | None:
    """The valid key most similar to ``key`` (difflib ratio >= 0.5), or None."""
    matches = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return matches[0] if matches else None


def unknown_key_error(key: str, valid: typing.Iterable[str], where: str) -> RecipeError:
    """A RecipeError for an unknown key that suggests the closest valid one."""
    valid = sorted(valid)
    near = closest_key(key, valid)
    hint = f"did you mean '{near}'?" if near else f"valid keys: {', '.join(valid)}"
    place = f"{where}.{key}" if where else key
    return RecipeError(f"unknown key '{place}': {hint}")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        return "list of " + _type_name(get_args(tp)[0])
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return getattr(tp, "__name__", str(tp))


def _coerce_float(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise RecipeError(f"{path}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("inf", "+inf", "infinity", ".inf"):
            return math.inf
        try:
            return float(text)
        except ValueError:
            pass
    raise RecipeError(f"{path}: expected a number, got {value!r}")


def coerce(value: Any, tp: Any, path: str) -> Any:
    """Coerce ``value`` to the type hint ``tp`` or raise a RecipeError naming ``path``."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [arg for arg in args if arg is not type(None)]
        if len(options) == 1:  # Optional[X]: X's own error names the inner field (e.g. bc.sampler)
            return coerce(value, options[0], path)
        for arg in options:
            try:
                return coerce(value, arg, path)
            except RecipeError:
                continue
        raise RecipeError(f"{path}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        if value in choices:
            return value
        near = closest_key(str(value), [str(c) for c in choices])
        hint = f" (did you mean '{near}'?)" if near else ""
        raise RecipeError(f"{path}: must be one of {', '.join(map(str, choices))}, got {value!r}{hint}")
    if origin is tuple:
        args = get_args(tp)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"{path}: expected a list, got {value!r}")
        item_tp = args[0]
        return tuple(coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise RecipeError(f"{path}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not (math.isfinite(value) and value.is_integer())
        ):
            raise RecipeError(f"{path}: expected an integer, got {value!r}")
        return check_number(int(value), path)
    if tp is float:
        return check_number(_coerce_float(value, path), path)
    if tp is str:
        if isinstance(value, str):
            return value
        raise RecipeError(f"{path}: expected text, got {value!r}")
    raise TypeError(f"unsupported config type {tp!r} at {path}")


def from_mapping(cls: type[T], data: Any, path: str = "") -> T:
    """Build the frozen dataclass ``cls`` from a mapping, validating every key and value."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise RecipeError(f"{path or cls.__name__}: expected a mapping, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise unknown_key_error(str(key), fields, path)
        kwargs[key] = coerce(value, hints[key], f"{path}.{key}" if path else key)
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        where = f"{path}." if path else ""
        raise RecipeError(f"missing required key '{where}{missing[0]}'")
    try:
        return cls(**kwargs)
    except RecipeError as err:
        message = str(err)
        if path and not message.startswith(path):
            message = f"{path}.{message}"
        raise RecipeError(message) from None


def to_mapping(obj: Any) -> Any:
    """The inverse of :func:`from_mapping`: plain dicts/lists, JSON-safe (inf as 'inf')."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    return obj


def check(condition: bool, field: str, problem: str) -> None:
    """Raise ``RecipeError('<field>: <problem>')`` unless ``condition`` holds."""
    if not condition:
        raise RecipeError(f"{field}: {problem}")
