"""Where bench and stability put their files under ``--out``, and the per-run image seeds."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from srkit.infer.seeding import derive_seed

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def slug(text: str) -> str:
    """A folder-safe name: ``sr3:20:dpm-solver`` -> ``sr3_20_dpm-solver``, ``bicubic (x4, realesrgan)`` -> ``bicubic_x4_realesrgan``."""
    return _UNSAFE.sub("_", text).strip("_") or "row"


def under(out_dir: Path, folder: str, name: str, ext: str) -> Path:
    """``out_dir/folder/<name without extension><ext>``, keeping the image's sub-folders."""
    return out_dir / folder / PurePosixPath(name).with_suffix(ext)


def image_seed(seed: int, run: int, name: str) -> int:
    """Seed of run ``run`` on image ``name``: ``derive_seed(seed + run, name)``, as ``srkit upscale --seed seed+run``."""
    return derive_seed(seed + run, name)
