"""Every released-model family srkit converts, and the loader for converted checkpoints.

``FAMILIES`` maps each ``srkit convert --from`` name to its
:class:`~srkit.released.base.ReleasedFamily`; :func:`load_released` turns a
converted checkpoint (tensors + metadata) back into a ready
:class:`~srkit.released.base.ReleasedPipeline`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from srkit.errors import UsageError, WeightsError
from srkit.io.checkpoints import CheckpointMeta
from srkit.released.base import RELEASED_KIND, ReleasedFamily, ReleasedPipeline
from srkit.released.resshift.family import FAMILIES as RESSHIFT_FAMILIES

SD_FAMILY_NAMES = ("dossr", "dossr-onestep", "ccsr-v1", "ccsr-v2")  # need the optional extra srkit[sd]


def _sd_families() -> tuple[list[ReleasedFamily], str]:
    """The SD-2.1 families when diffusers and transformers are installed, else none and the reason."""
    try:
        from srkit.released.sd import SD_FAMILIES  # optional extra: imports diffusers and transformers
    except ImportError as err:
        return [], f"{err.name or err}"
    return list(SD_FAMILIES), ""


_SD, SD_MISSING = _sd_families()
FAMILIES: dict[str, ReleasedFamily] = {family.name: family for family in (*RESSHIFT_FAMILIES, *_SD)}


def released_rows() -> list[dict[str, str]]:
    """One row per ``srkit convert --from`` name: name, description, licence (an SD row says when its extra is missing)."""
    rows = [{"name": f.name, "description": f.description, "licence": f.licence} for f in FAMILIES.values()]
    missing = [n for n in SD_FAMILY_NAMES if n not in FAMILIES]
    rows += [{"name": n, "description": f"needs pip install 'srkit[sd]' (missing: {SD_MISSING})", "licence": ""} for n in missing]
    return rows


def get_family(name: str) -> ReleasedFamily:
    """The family called ``name``; a one-line UsageError listing the known ones otherwise."""
    if name in SD_FAMILY_NAMES and name not in FAMILIES:
        raise UsageError(f"{name} needs the optional extra: pip install 'srkit[sd]' (missing: {SD_MISSING})")
    try:
        return FAMILIES[name]
    except KeyError:
        raise UsageError(f"unknown released model {name!r}; choose one of {', '.join(FAMILIES)}") from None


def metadata_fields(metadata: CheckpointMeta | Mapping[str, Any]) -> dict[str, str]:
    """A converted checkpoint's metadata as a flat ``str -> str`` dict (from the raw dict or a CheckpointMeta)."""
    if isinstance(metadata, CheckpointMeta):
        return {**{str(k): str(v) for k, v in metadata.extra.items()}, "kind": metadata.kind, "model_id": metadata.model_id}
    return {str(k): str(v) for k, v in metadata.items()}


def load_released(
    tensors: Mapping[str, Tensor],
    metadata: CheckpointMeta | Mapping[str, Any],
    *,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
) -> ReleasedPipeline:
    """Build the pipeline of a checkpoint written by ``srkit convert`` (``kind="srkit-released"``)."""
    fields = metadata_fields(metadata)
    if fields.get("kind") != RELEASED_KIND:
        raise WeightsError(f"not a converted released model (kind {fields.get('kind')!r}, expected {RELEASED_KIND!r})")
    name = fields.get("family", "")
    if name in SD_FAMILY_NAMES and name not in FAMILIES:
        raise WeightsError(f"converted {name} model: running it needs the optional extra: pip install 'srkit[sd]' (missing: {SD_MISSING})")
    if name not in FAMILIES:
        raise WeightsError(
            f"converted model of family {name!r}, which this srkit cannot run (known: {', '.join(FAMILIES)})"
        )
    try:
        config = json.loads(fields.get("config", ""))
    except ValueError:
        raise WeightsError("the converted model's config metadata is not valid JSON; convert it again") from None
    pipeline = FAMILIES[name].load(tensors, config, device=torch.device(device), precision=precision)
    pipeline.model_id = fields.get("model_id", pipeline.model_id)
    return pipeline
