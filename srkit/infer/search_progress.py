"""Resumable record of scored (candidate, reference) pairs for ``srkit find-bc``.

File ``<out>.progress.jsonl`` (``<out>.progress.rankN.jsonl`` per process under
torchrun): a header line ``{"settings": ..., "hash": ...}``, then one line per
scored pair ``{"k": candidate, "r": reference, "v": value}``, appended and
flushed after every batch. The hash covers everything that changes a pair's
value (model id, sampler, metric, seed, start-noise shape, references); it does
not cover K, R, the strategy or the batch size, so a search can be resumed
with more candidates or another strategy. A file with another hash is refused,
never silently reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable

from srkit.errors import UsageError
from srkit.io.atomic import make_folder

Pair = tuple[int, int]


def settings_hash(settings: dict[str, Any]) -> str:
    """sha256 (first 16 hex) of the settings as sorted JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def progress_paths(out: Path) -> list[Path]:
    """Every progress file that belongs to ``out`` (single-process and per-rank ones)."""
    return sorted(out.parent.glob(f"{out.name}.progress*.jsonl"))


def progress_path(out: Path, rank: int, world: int) -> Path:
    suffix = "" if world == 1 else f".rank{rank}"
    return out.with_name(f"{out.name}.progress{suffix}.jsonl")


class PairStore:
    """Scored pairs in memory, mirrored to this process's progress file."""

    def __init__(self, out: Path, settings: dict[str, Any], rank: int = 0, world: int = 1) -> None:
        self.out = out
        self.path = progress_path(out, rank, world)
        self.settings = settings
        self.hash = settings_hash(settings)
        self.values: dict[Pair, float] = {}

    def load(self, paths: Iterable[Path]) -> int:
        """Read earlier progress files (refusing other settings); returns the number of pairs read."""
        before = len(self.values)
        for path in paths:
            lines = path.read_text(encoding="utf-8").splitlines()
            if not lines:
                continue
            header = json.loads(lines[0])
            if header.get("hash") != self.hash:
                raise UsageError(
                    f"progress file {path} belongs to a search with other settings; delete it or pass --no-resume to start over"
                )
            for line in lines[1:]:
                try:
                    row = json.loads(line)
                except ValueError:  # a line cut by an interruption
                    continue
                self.values[(int(row["k"]), int(row["r"]))] = float(row["v"])
        return len(self.values) - before

    def start_file(self) -> None:
        """Create this process's progress file with its header (rewriting it with the known pairs)."""
        make_folder(self.path.parent)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"hash": self.hash, "settings": self.settings}, default=str) + "\n")
            for (k, r), v in sorted(self.values.items()):
                handle.write(json.dumps({"k": k, "r": r, "v": v}) + "\n")
        os.replace(tmp, self.path)

    def add(self, rows: Iterable[tuple[int, int, float]]) -> None:
        """Record scored pairs and append them to the progress file (flushed to disk)."""
        with open(self.path, "a", encoding="utf-8") as handle:
            for k, r, v in rows:
                self.values[(k, r)] = v
                handle.write(json.dumps({"k": k, "r": r, "v": v}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def merge_others(self) -> int:
        """Load the pairs other processes have recorded (after a barrier)."""
        return self.load(path for path in progress_paths(self.out) if path != self.path)
