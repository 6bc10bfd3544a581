"""Turn plain YAML mappings into frozen, validated dataclasses.

One generic converter serves every config section in srkit: it walks a
dataclass's type hints, rejects unknown keys (naming the closest valid key),
coerces simple values (int, float, str, bool, Literal, tuple, Optional, nested
dataclasses) and reports wrong types by their dotted field path. Range checks
live in each dataclass's ``__post_init__`` and raise :class:`RecipeError`.
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
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise RecipeError(f"{path}: expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        return _coerce_float(value, path)
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
