"""The wheel ships what `pip install .` users need: recipes, degradation presets, built-in weights."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_recipes_presets_and_weights(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("srkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    recipes = {p.relative_to(REPO / "recipes").as_posix() for p in (REPO / "recipes").rglob("*.yaml")}
    assert {f"srkit/_recipes/{r}" for r in recipes} <= names
    presets = {p.name for p in (REPO / "srkit/degrade/presets").glob("*.yaml")}
    assert {f"srkit/degrade/presets/{p}" for p in presets} <= names
    weights = {p.name for p in (REPO / "srkit/weights").glob("*.safetensors")}
    assert {f"srkit/weights/{w}" for w in weights} <= names
    assert not any(name.startswith("tests/") for name in names)
