"""Result files: CSV cells parse back exactly, JSON is strict, markdown tables are well formed."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from srkit.bench.paths import slug, under
from srkit.bench.tables import UNAVAILABLE, display_cell, markdown_table, write_csv, write_json


def test_csv_round_trips_floats_exactly_and_marks_unavailable(tmp_path: Path) -> None:
    value = 1.0 / 3.0 + 1e-17 * 7
    path = write_csv(tmp_path / "t.csv", ["name", "psnr", "lpips", "steps"],
                     [["a", value, "unavailable: alexnet missing", None], ["b", math.nan, 0.25, 5]])
    rows = list(csv.DictReader(path.open()))
    assert float(rows[0]["psnr"]) == value
    assert rows[0]["lpips"] == UNAVAILABLE and rows[0]["steps"] == ""
    assert rows[1]["psnr"] == "" and rows[1]["steps"] == "5"


def test_json_writes_non_finite_numbers_as_null(tmp_path: Path) -> None:
    path = write_json(tmp_path / "r.json", {"a": math.nan, "b": [math.inf, 1.5], "c": (1, 2), "p": tmp_path})
    assert json.loads(path.read_text()) == {"a": None, "b": [None, 1.5], "c": [1, 2], "p": str(tmp_path)}


def test_markdown_table_right_aligns_numeric_columns_and_escapes_pipes() -> None:
    text = markdown_table(["row", "psnr", "steps"], [["a|b", 31.23456, None], ["c", 30.0, 5]])
    lines = text.strip().splitlines()
    assert lines[0] == "| row | psnr | steps |"
    assert lines[1] == "|:---|---:|---:|"
    assert lines[2] == "| a\\|b | 31.23 | n/a |"


def test_display_cell_formats_numbers_and_missing_values() -> None:
    assert display_cell(0.123456789) == "0.1235"
    assert display_cell("unavailable: x") == "n/a" and display_cell(None) == "n/a"
    assert display_cell(3) == "3"


def test_slug_and_under_make_safe_mirrored_paths(tmp_path: Path) -> None:
    assert slug("sr3:20:dpm-solver:2") == "sr3_20_dpm-solver_2"
    assert slug("bicubic (x4, realesrgan)") == "bicubic_x4_realesrgan"
    assert under(tmp_path, "per_image", "sub/c.png", ".csv") == tmp_path / "per_image" / "sub" / "c.csv"
