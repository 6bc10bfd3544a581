"""srkit's own temporary files, and removing those a killed run left behind.

:func:`srkit.io.atomic.atomic_path` writes ``.<name>.<8 hex digits>.tmp`` next to
its target and renames it over the target; a run killed with ``kill -9`` (or a
power cut) leaves that file behind, hidden. :func:`clean_stale_temporaries`
removes exactly such files, and only inside the output folder a run is about to
write to while it holds that folder's lock (:mod:`srkit.io.locks`), so no other
srkit run can be writing them. Nothing else is ever removed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: ``.<name>.<8 hex>.tmp``: the names :func:`srkit.io.atomic.atomic_path` gives its temporaries.
TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


def is_srkit_temporary(name: str) -> bool:
    """Whether a file name is one of srkit's atomic-write temporaries."""
    return TEMP_NAME.match(name) is not None


def temporary_name(target_name: str, token: str) -> str:
    """The hidden temporary name for ``target_name`` (``token``: 8 hex digits)."""
    return f".{target_name}.{token}.tmp"


def clean_stale_temporaries(folder: str | Path, *, recursive: bool = True, only_for: str | None = None) -> list[Path]:
    """Remove srkit's temporaries under ``folder`` (a missing folder is fine); return what was removed.

    Call it only while holding the folder's lock. ``only_for``: just the
    temporaries of that one file name (``folder`` not searched recursively).
    Symlinks are never followed or removed; files that vanish meanwhile are ignored.
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    removed = []
    walker = os.walk(root) if recursive and only_for is None else [(str(root), [], [p.name for p in root.iterdir()])]
    prefix = None if only_for is None else f".{only_for}."
    for parent, _, files in walker:
        for name in files:
            path = Path(parent) / name
            mine = prefix is None or name.startswith(prefix)
            if mine and is_srkit_temporary(name) and not path.is_symlink() and path.is_file():
                try:
                    path.unlink()
                    removed.append(path)
                except FileNotFoundError:
                    pass
    return removed
