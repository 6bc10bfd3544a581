"""The run folder of ``srkit train --out RUN_DIR`` and its JSONL log.

Layout::

    RUN_DIR/recipe.yaml                               resolved recipe of the run
    RUN_DIR/log.jsonl                                 one JSON object per logged value set
    RUN_DIR/loss.png                                  loss curve, written at the end
    RUN_DIR/final.safetensors                         model checkpoint after the last step
    RUN_DIR/checkpoints/step_XXXXXXX.safetensors      model checkpoint (EMA weights)
    RUN_DIR/checkpoints/step_XXXXXXX.state.safetensors  raw weights, optimisers, EMA, step
    RUN_DIR/samples/step_XXXXXXX.png                  validation grids
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from srkit.errors import UsageError
from srkit.io.atomic import atomic_path, make_folder

_STATE_NAME = re.compile(r"^step_(\d+)\.state\.safetensors$")


@dataclass(frozen=True)
class RunDir:
    """Paths of one training run."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def recipe(self) -> Path:
        return self.root / "recipe.yaml"

    @property
    def log(self) -> Path:
        return self.root / "log.jsonl"

    @property
    def loss_plot(self) -> Path:
        return self.root / "loss.png"

    @property
    def final(self) -> Path:
        return self.root / "final.safetensors"

    def model_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:07d}.safetensors"

    def state_file(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:07d}.state.safetensors"

    def sample_grid(self, step: int) -> Path:
        return self.root / "samples" / f"step_{step:07d}.png"

    def latest_state(self) -> tuple[Path, int] | None:
        """The state file of the highest step, or None when the run has none."""
        found = []
        for path in self.checkpoints.glob("step_*.state.safetensors"):
            match = _STATE_NAME.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        if not found:
            return None
        step, path = max(found)
        return path, step

    def check_fresh(self) -> None:
        """Refuse to start a new run over an existing one (its checkpoints would be mixed up)."""
        if self.latest_state() is not None or self.final.exists():
            raise UsageError(f"{self.root} already holds a training run; add --resume to continue it or choose a new --out")

    def write_recipe(self, data: dict[str, Any]) -> None:
        with atomic_path(self.recipe) as tmp:
            tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _json_finite(record: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities (not valid JSON) become null."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()}


class JsonlLog:
    """Append-only JSON-lines log; each record carries the ``step`` it belongs to."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, record: dict[str, Any]) -> None:
        make_folder(self.path.parent)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(_json_finite(record), allow_nan=False) + "\n")

    def records(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)

    def truncate_after(self, step: int) -> None:
        """Drop records of steps after ``step`` (a resumed run logs them again)."""
        if not self.path.exists():
            return
        kept = [r for r in self.records() if int(r.get("step", 0)) <= step]
        with atomic_path(self.path) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
