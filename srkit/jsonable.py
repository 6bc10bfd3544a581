"""JSON-ready copies of result payloads (shared by the CLI's ``--json`` and the bench/stability files)."""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any, *, inf_as_null: bool = False) -> Any:
    """Make a payload JSON-serialisable: tuples to lists, keys and paths to str, NaN to null.

    Infinities become ``"inf"``/``"-inf"`` strings, or null with ``inf_as_null``.
    Scalars with ``.item()`` (numpy, 0-d tensors) are unwrapped; any other
    object becomes its ``str``.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v, inf_as_null=inf_as_null) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, inf_as_null=inf_as_null) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return None if inf_as_null else ("inf" if value > 0 else "-inf")
        return value
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item") and callable(value.item):
        return json_safe(value.item(), inf_as_null=inf_as_null)
    return str(value)
