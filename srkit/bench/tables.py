"""Result files of bench and stability: CSV, JSON and markdown tables, written atomically.

CSV cells hold full-precision numbers (``repr`` of the float) so they parse
back exactly; an unavailable metric is the cell ``unavailable`` (its reason is
in the JSON). JSON has NaN/inf replaced by null, so any JSON reader accepts it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from srkit.io.atomic import atomic_path
from srkit.jsonable import json_safe

UNAVAILABLE = "unavailable"
Cell = Any


def csv_cell(value: Cell) -> str:
    """A CSV cell: exact floats, ``unavailable`` for an unavailability message, empty for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and value.startswith(UNAVAILABLE):
        return UNAVAILABLE
    if isinstance(value, float):
        return repr(value)
    return str(value)


def display_cell(value: Cell, digits: int = 4) -> str:
    """A human-readable cell: floats to ``digits`` significant digits, ``n/a`` when unavailable or missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str) and value.startswith(UNAVAILABLE):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> Path:
    """Write a CSV table atomically (cells through :func:`csv_cell`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[csv_cell(cell) for cell in row] for row in rows])
    return write_text(path, buffer.getvalue())


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON atomically."""
    return write_text(path, json.dumps(json_safe(payload, inf_as_null=True), indent=2, allow_nan=False) + "\n")


def _is_numeric_column(cells: Sequence[Cell]) -> bool:
    """Numbers only, apart from missing (None) and unavailable cells, and at least one number."""
    numbers = [cell for cell in cells if isinstance(cell, (int, float))]
    others = [cell for cell in cells if not isinstance(cell, (int, float)) and cell is not None
              and not (isinstance(cell, str) and cell.startswith(UNAVAILABLE))]
    return bool(numbers) and not others


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """A GitHub markdown table: text columns left-aligned, numeric columns right-aligned."""
    cells = [[display_cell(cell) for cell in row] for row in rows]
    numeric = [_is_numeric_column([row[i] for row in rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if num else ":---" for num in numeric) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"
