"""The pair manifest: one JSON line per pair with its source, crop and every sampled value.

``srkit degrade`` appends a line after a pair's files are written (so a killed
run loses at most the pair in flight) and rewrites the file in pair order at the
end. ``--replay`` reads the lines back and regenerates the same pairs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from srkit.degrade.crops import CropBox
from srkit.degrade.params import DegradationParams
from srkit.errors import InputError
from srkit.io.atomic import atomic_path

MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class PairRecord:
    """One pair: ``pair`` id (output path stem), ``source`` (relative to HR_DIR), crop, outputs and values.

    ``hr``/``lr``/``lr_up`` are relative to OUT_DIR; ``lr_up`` is None when not written.
    ``preset``, ``preset_digest``, ``seed`` and ``crop_size`` are the settings that drew it.
    """

    pair: str
    source: str
    index: int
    crop: CropBox
    hr: str
    lr: str
    lr_up: str | None
    preset: str
    preset_digest: str
    seed: int
    crop_size: int | None
    params: DegradationParams

    def to_json(self) -> str:
        """One compact JSON line (no newline)."""
        data: dict[str, Any] = {
            "pair": self.pair,
            "source": self.source,
            "index": self.index,
            "crop": list(self.crop),
            "hr": self.hr,
            "lr": self.lr,
            "lr_up": self.lr_up,
            "preset": self.preset,
            "preset_digest": self.preset_digest,
            "seed": self.seed,
            "crop_size": self.crop_size,
            "params": self.params.to_dict(),
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> "PairRecord":
        """Parse one line; KeyError/ValueError/TypeError on malformed content (see :func:`read_manifest`)."""
        data = json.loads(line)
        return cls(
            pair=str(data["pair"]),
            source=str(data["source"]),
            index=int(data["index"]),
            crop=CropBox(*(int(v) for v in data["crop"])),
            hr=str(data["hr"]),
            lr=str(data["lr"]),
            lr_up=None if data.get("lr_up") is None else str(data["lr_up"]),
            preset=str(data["preset"]),
            preset_digest=str(data["preset_digest"]),
            seed=int(data["seed"]),
            crop_size=None if data.get("crop_size") is None else int(data["crop_size"]),
            params=DegradationParams.from_dict(data["params"]),
        )


def read_manifest(path: str | Path) -> list[PairRecord]:
    """All records of a manifest, later lines replacing earlier ones of the same pair.

    A last line without its newline (a run killed mid-write) is ignored; any
    other malformed line raises ``InputError`` naming its line number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot read manifest {path}: {err.strerror or err}") from None
    lines = text.split("\n")
    complete = lines[:-1]  # the part after the last newline is empty or an unfinished line
    records: dict[str, PairRecord] = {}
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            record = PairRecord.from_json(line)
        except InputError as err:
            raise InputError(f"{path} line {number}: {err}") from None
        except (KeyError, ValueError, TypeError) as err:
            raise InputError(f"{path} line {number}: not a pair record ({type(err).__name__}: {err})") from None
        records[record.pair] = record
    return list(records.values())


def append_record(path: str | Path, record: PairRecord) -> None:
    """Append one line and flush it to disk; a torn last line from a killed run is cut off first."""
    path = Path(path)
    with open(path, "a+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                handle.seek(0)
                keep = handle.read().rfind(b"\n") + 1
                handle.truncate(keep)
                handle.seek(keep)
        handle.write((record.to_json() + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def write_manifest(path: str | Path, records: Iterable[PairRecord]) -> None:
    """Write the whole manifest atomically (used to leave it in pair order at the end of a run)."""
    with atomic_path(path) as tmp:
        tmp.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
