"""``convert_checkpoint``: official checkpoint file(s) -> one ordinary srkit safetensors checkpoint.

Steps: read every source safely (:mod:`srkit.convert.sources`); check that each
looks like the family asked for, else say which family it looks like; give each
file its role (``unet.``/``vq.`` ... where a family takes several files); check
memory; let the family map the keys strictly (:mod:`srkit.convert.rules`); stream
the result to disk atomically (:mod:`srkit.convert.writer`) with the metadata
``kind="srkit-released"``, ``family``, ``config`` (JSON), ``recipe``, ``licence``,
``source_name`` and ``source_sha256`` (comma-separated, one per source, in the
order given), and ``model_id``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from srkit._version import __version__
from srkit.convert.memory import check_memory
from srkit.convert.sources import SourceFile, read_source
from srkit.convert.writer import write_safetensors
from srkit.errors import UsageError, WeightsError
from srkit.io.checkpoints import SUFFIX, CheckpointMeta
from srkit.released.base import RELEASED_KIND, ReleasedFamily
from srkit.released.registry import FAMILIES, get_family

Progress = Callable[[str], None]
STORAGE_DTYPES: dict[str, torch.dtype | None] = {"keep": None, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class ConvertReport:
    """What a conversion wrote."""

    output: Path
    family: str
    model_id: str
    tensors: int
    ignored: tuple[str, ...]
    bytes: int
    memory_needed: int
    seconds: float


def _keys_shown(keys: set[str]) -> str:
    return ", ".join(sorted(keys)[:3])


def check_kind(family: ReleasedFamily, source: SourceFile) -> None:
    """Refuse a source that does not look like ``family``, naming the families it does look like."""
    if family.looks_like(source.keys):
        return
    others = [name for name, other in FAMILIES.items() if other.looks_like(source.keys)]
    name = source.path.name
    if others:
        raise WeightsError(f"{name} is not a {family.name} checkpoint; it looks like {' or '.join(others)} (use --from {others[0]})")
    raise WeightsError(f"{name} is not a {family.name} checkpoint and matches no model srkit converts (keys such as {_keys_shown(source.keys)})")


def merge_sources(family: ReleasedFamily, sources: Sequence[SourceFile]) -> dict[str, Tensor]:
    """One state dict: keys prefixed with each file's role where the family has roles, else merged as they are."""
    role_of = getattr(family, "source_role", None)
    merged: dict[str, Tensor] = {}
    seen: dict[str, Path] = {}
    for source in sources:
        role = role_of(source.keys) if role_of is not None else ""
        if role is None:
            raise WeightsError(f"{source.path.name} holds no part of a {family.name} model")
        if role and role in seen:
            raise WeightsError(f"{seen[role].name} and {source.path.name} both hold the {role} part; pass each file once")
        seen[role] = source.path
        prefix = f"{role}." if role else ""
        for key, tensor in source.tensors.items():
            if prefix + key in merged:
                raise WeightsError(f"{key!r} is in more than one source file")
            merged[prefix + key] = tensor
    return merged


def convert_checkpoint(
    family_name: str,
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    storage: str = "keep",
    settings: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    write_progress: Callable[[int, int], None] | None = None,
) -> ConvertReport:
    """Convert the official file(s) ``sources`` of ``family_name`` into the srkit checkpoint ``output``.

    ``storage`` is ``keep`` (the source dtypes), ``fp32``, ``fp16`` or ``bf16`` for
    floating tensors. ``settings`` override the official inference procedure stored in the
    file (``srkit convert --set``; the SD-family models only: e.g. CCSR's ``process_size``,
    CCSR v2's ``tile_diffusion``), checked before anything is read. ``progress`` gets one
    message per stage, ``write_progress(done, total)``
    the bytes written. Nothing is written unless every check passes; the output
    appears complete or not at all.
    """
    start = time.perf_counter()
    say = progress or (lambda _message: None)
    family = get_family(family_name)
    output = Path(output)
    if output.suffix != SUFFIX:
        raise UsageError(f"output {output} must be named *{SUFFIX}")
    if storage not in STORAGE_DTYPES:
        raise UsageError(f"storage must be one of {', '.join(STORAGE_DTYPES)}, got {storage!r}")
    if settings:
        check_settings = getattr(family, "check_settings", None)
        if check_settings is None:
            raise UsageError(f"{family.name} has no inference settings to set; it runs as its script does")
        check_settings(settings)
    paths = [Path(s) for s in sources]
    if not paths:
        raise UsageError("give the official checkpoint file(s) to convert")
    if any(p.resolve() == output.resolve() for p in paths if p.exists()):
        raise UsageError(f"output {output} is one of the sources; choose another name")
    if all(p.is_dir() for p in paths):  # diffusers save_pretrained folders (CCSR v2), read memory-mapped
        read_folders = getattr(family, "read_folders", None)
        if read_folders is None:
            raise UsageError(f"{family.name} converts checkpoint files, not folders: pass the downloaded file(s)")
        say(f"reading {len(paths)} folders")
        state = read_folders(paths)
        hashes = ["folder"] * len(paths)
        need = 0
    else:
        read: list[SourceFile] = []
        for path in paths:
            say(f"reading {path}")
            source = read_source(path)
            check_kind(family, source)
            read.append(source)
        need = check_memory(read)
        state = merge_sources(family, read)
        hashes = [s.sha256 for s in read]
    say(f"mapping {len(state)} tensors onto {family.name}")
    converted = family.convert(state)
    if settings:
        converted.config["procedure"] = {**converted.config.get("procedure", {}), **settings}
    meta = CheckpointMeta(
        kind=RELEASED_KIND,
        recipe={"name": family.name},
        srkit_version=__version__,
        extra={
            "family": family.name,
            "config": json.dumps(converted.config, sort_keys=True, separators=(",", ":")),
            "licence": family.licence,
            "description": family.description,
            "source_name": ",".join(p.name for p in paths),
            "source_sha256": ",".join(hashes),
        },
    )
    say(f"writing {output}")
    size, model_id = write_safetensors(output, converted.tensors, meta.to_metadata(), dtype=STORAGE_DTYPES[storage], progress=write_progress)
    return ConvertReport(
        output=output,
        family=family.name,
        model_id=model_id,
        tensors=len(converted.tensors),
        ignored=converted.ignored,
        bytes=size,
        memory_needed=need,
        seconds=time.perf_counter() - start,
    )
