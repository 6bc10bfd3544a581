"""Checkpoints: safetensors files with srkit metadata; pickles are refused.

A checkpoint is a flat ``name -> tensor`` safetensors file whose string
metadata holds ``srkit_version``, ``kind`` (denoiser, autoencoder,
decoder_head, bc, ...), ``step``, ``recipe`` and ``network`` (JSON), free
extra fields, and ``model_id``: a content hash of the tensors (see
:func:`model_id`), recomputed and checked on load.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, NamedTuple

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from srkit._version import __version__
from srkit.errors import UsageError, WeightsError
from srkit.io.atomic import atomic_path

SUFFIX = ".safetensors"
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle"})
MODEL_ID_LENGTH = 12
_DDP_PREFIX = "module."  # DataParallel / DistributedDataParallel
_COMPILE_COMPONENT = "_orig_mod"  # torch.compile
_RESERVED = ("srkit_version", "kind", "step", "recipe", "network", "model_id")
_SHOWN_KEYS = 3


def hash_tensor(digest: "hashlib._Hash", name: str, tensor: torch.Tensor) -> None:
    """Feed one named tensor to a content hash: ``name NUL dtype NUL shape NUL``, then its raw
    little-endian bytes read on CPU in row-major order."""
    tensor = tensor.detach().to("cpu").contiguous()
    dtype = str(tensor.dtype).removeprefix("torch.")
    shape = ",".join(str(d) for d in tensor.shape)
    digest.update(f"{name}\0{dtype}\0{shape}\0".encode())
    digest.update(tensor.reshape(-1).view(torch.uint8).numpy())


def tensors_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 (hex) over the tensors in sorted name order, each fed by :func:`hash_tensor`."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        hash_tensor(digest, name, tensors[name])
    return digest.hexdigest()


def model_id(tensors: Mapping[str, torch.Tensor]) -> str:
    """Content hash of a state dict: the first 12 hex of :func:`tensors_sha256`.

    Wrapper prefixes are stripped first (:func:`strip_wrapper_prefixes`) and bytes are
    read on CPU in row-major order, so equal weights give equal ids whatever the dict
    order, device, memory format or compile/DDP wrapper.
    """
    return tensors_sha256(strip_wrapper_prefixes(tensors))[:MODEL_ID_LENGTH]


@dataclass(frozen=True)
class CheckpointMeta:
    """What a checkpoint says about itself (all stored as safetensors string metadata).

    ``recipe`` and ``network`` are JSON-able mappings (e.g. ``dataclasses.asdict``
    of the recipe and network config); ``extra`` holds free string fields.
    ``model_id`` and ``srkit_version`` are filled in by :func:`save_checkpoint`.
    """

    kind: str = ""
    step: int = 0
    recipe: Mapping[str, Any] = field(default_factory=dict)
    network: Mapping[str, Any] = field(default_factory=dict)
    model_id: str = ""
    srkit_version: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, str]:
        """The safetensors metadata dict (every value a string)."""
        clash = sorted(set(self.extra) & set(_RESERVED))
        if clash:
            raise UsageError(f"checkpoint extra field(s) {', '.join(clash)} clash with srkit's own; rename them")
        return {
            **{str(k): str(v) for k, v in self.extra.items()},
            "srkit_version": self.srkit_version,
            "kind": self.kind,
            "step": str(int(self.step)),
            "recipe": _to_json(self.recipe, "recipe"),
            "network": _to_json(self.network, "network"),
            "model_id": self.model_id,
        }

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str] | None, source: Path) -> CheckpointMeta:
        """Parse stored metadata; fields absent from a foreign safetensors file take defaults."""
        data = dict(metadata or {})
        try:
            return cls(
                kind=data.pop("kind", ""),
                step=int(data.pop("step", "0")),
                recipe=json.loads(data.pop("recipe", "{}")),
                network=json.loads(data.pop("network", "{}")),
                model_id=data.pop("model_id", ""),
                srkit_version=data.pop("srkit_version", ""),
                extra=data,
            )
        except ValueError as err:  # json.JSONDecodeError is a ValueError
            raise WeightsError(f"checkpoint {source} has malformed srkit metadata ({err}); re-save it") from err

    @classmethod
    def coerce(cls, value: CheckpointMeta | Mapping[str, Any]) -> CheckpointMeta:
        """Accept a :class:`CheckpointMeta` or a dict of its fields (unknown keys go to ``extra``)."""
        if isinstance(value, CheckpointMeta):
            return value
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        fields = {k: v for k, v in value.items() if k in known}
        extra = {**dict(value.get("extra", {})), **{k: v for k, v in value.items() if k not in known and k != "extra"}}
        return cls(**fields, extra={str(k): str(v) for k, v in extra.items()})


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(type(value).__name__)


def _to_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as err:
        raise UsageError(f"checkpoint {what} is not JSON-serialisable ({err}); pass plain data") from err


def _storage_tensors(tensors: Mapping[str, torch.Tensor], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    """CPU, contiguous copies ready for safetensors: floats cast to ``dtype``, shared storage un-shared."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise UsageError(f"checkpoint entry {name!r} is a {type(tensor).__name__}, not a tensor")
        t = tensor.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        t = t.contiguous()
        pointer = t.untyped_storage().data_ptr()
        if pointer in seen:  # tied weights or views: safetensors refuses shared memory
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[name] = t
    return out


def save_checkpoint(
    path: str | Path,
    tensors: Mapping[str, torch.Tensor],
    metadata: CheckpointMeta | Mapping[str, Any],
    *,
    dtype: torch.dtype | None = None,
) -> CheckpointMeta:
    """Write ``tensors`` and ``metadata`` to a ``.safetensors`` file atomically; return the stored metadata.

    ``dtype`` (e.g. ``torch.float16``) sets the storage type of floating tensors;
    :func:`load_state_into` casts back to the module's dtype. ``model_id`` is
    the hash of the tensors as stored; ``srkit_version`` is this version.
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        raise UsageError(f"checkpoint {path} must be named *{SUFFIX}; srkit writes safetensors only")
    if not tensors:
        raise UsageError(f"refusing to write checkpoint {path} without tensors")
    stored = _storage_tensors(tensors, dtype)
    meta = dataclasses.replace(CheckpointMeta.coerce(metadata), model_id=model_id(stored), srkit_version=__version__)
    with atomic_path(path, size_hint=sum(t.numel() * t.element_size() for t in stored.values())) as tmp:
        save_file(stored, str(tmp), metadata=meta.to_metadata())
    return meta


def _conversion_hint(path: Path) -> str:
    target = path.with_suffix(SUFFIX)
    return (
        f"python -c \"import torch, safetensors.torch as st; sd = torch.load({str(path)!r}, map_location='cpu', "
        f"weights_only=True); sd = sd.get('state_dict', sd); "
        f'st.save_file({{k: v.contiguous() for k, v in sd.items()}}, {str(target)!r})"'
    )


def _refuse_pickle(path: Path) -> WeightsError:
    return WeightsError(
        f"{path} is a pickle checkpoint; srkit only loads safetensors (pickles can run code). "
        f"An official ResShift/DoSSR/CCSR release: `srkit convert --from NAME {path.name} -o {path.stem}{SUFFIX}` "
        f"(see `srkit convert --help`); a plain state dict you trust: {_conversion_hint(path)}"
    )


def _check_file(path: Path) -> None:
    """Refuse a missing, empty, pickled or otherwise non-safetensors file before parsing it."""
    if not path.exists():
        raise WeightsError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise WeightsError(f"checkpoint {path} is a folder; pass the {SUFFIX} file")
    with open(path, "rb") as handle:
        head = handle.read(9)
    if not head:
        raise WeightsError(f"cannot read checkpoint {path}: the file is empty (0 bytes)")
    # safetensors = 8-byte little-endian header length, then a JSON object.
    if len(head) == 9 and head[8:9] == b"{":
        return
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04" or path.suffix.lower() in PICKLE_SUFFIXES:
        raise _refuse_pickle(path)  # pickle protocol >= 2 opcode, or torch.save's zip archive
    raise WeightsError(f"cannot read checkpoint {path}: not a safetensors file")


def load_checkpoint(path: str | Path, *, verify: bool = True) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Load a safetensors checkpoint to CPU as ``(tensors, meta)``.

    Pickles (``.pt/.pth/.ckpt/.bin`` or pickle/zip bytes) are refused with a
    conversion command. With ``verify`` a stored ``model_id`` must equal the
    hash of the loaded tensors (catches corrupt or edited files). Floating
    tensors holding NaN or infinity are refused (:func:`check_finite`).
    """
    path = Path(path)
    _check_file(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata()
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (not a dict)
    except Exception as err:  # SafetensorError has no importable base across versions
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(
            f"cannot read checkpoint {path}: {reason} (truncated or corrupt; re-download or re-save it)"
        ) from err
    check_finite(tensors, path)
    meta = CheckpointMeta.from_metadata(metadata, path)
    if verify or not meta.model_id:
        actual = model_id(tensors)
        if meta.model_id and meta.model_id != actual:
            raise WeightsError(
                f"checkpoint {path} is corrupt: content hash {actual} differs from "
                f"its recorded model_id {meta.model_id}"
            )
        meta = dataclasses.replace(meta, model_id=actual)
    return tensors, meta


def check_finite(tensors: Mapping[str, torch.Tensor], source: str | Path) -> None:
    """Refuse weights with NaN or infinite values (a diverged training run, a damaged file), naming the first
    such tensor: they would make every output black or NaN, silently."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() or tensor.is_complex():
            finite = torch.isfinite(tensor)
            if not bool(finite.all()):
                bad = int(finite.numel() - finite.sum())
                raise WeightsError(
                    f"checkpoint {source} holds non-finite values (NaN or infinity) in tensor {name!r} "
                    f"({bad} of {tensor.numel()}); it is unusable (a diverged run?): use an earlier checkpoint"
                )


class LoadReport(NamedTuple):
    """Keys left out by a non-strict :func:`load_state_into`."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]


def strip_wrapper_name(name: str) -> str:
    """Drop leading ``module.`` (DataParallel/DDP) and every ``_orig_mod`` component (torch.compile)."""
    parts = name.split(".")
    while len(parts) > 1 and parts[0] in (_DDP_PREFIX.rstrip("."), _COMPILE_COMPONENT):
        parts = parts[1:]
    name = ".".join(parts)
    return ".".join(part for part in name.split(".") if part != _COMPILE_COMPONENT)


def strip_wrapper_prefixes(tensors: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``tensors`` with every key passed through :func:`strip_wrapper_name`."""
    out: dict[str, Any] = {}
    for name, tensor in tensors.items():
        key = strip_wrapper_name(name)
        if key in out:
            raise WeightsError(f"weights hold {key!r} twice once wrapper prefixes are removed")
        out[key] = tensor
    return out


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return f"{len(keys)} ({shown}{', ...' if len(keys) > _SHOWN_KEYS else ''})"


def _shape(shape: torch.Size) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def load_state_into(
    module: torch.nn.Module,
    tensors: Mapping[str, torch.Tensor],
    *,
    strict: bool = True,
    source: str | Path | None = None,
) -> LoadReport:
    """Copy ``tensors`` into ``module``, casting floats to the module's dtype and device.

    Wrapper prefixes are stripped first. Shape mismatches always raise; with
    ``strict`` missing or unexpected keys raise too: one ``WeightsError`` line
    naming the first few of each. ``source`` names the file in that message.
    """
    state = strip_wrapper_prefixes(tensors)
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: file {_shape(state[k].shape)} vs model {_shape(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    problems = [f"wrong shape {_listed(mismatched)}"] if mismatched else []
    if strict:
        problems = (
            ([f"missing {_listed(missing)}"] if missing else [])
            + ([f"unexpected {_listed(unexpected)}"] if unexpected else [])
            + problems
        )
    if problems:
        origin = f" in {source}" if source is not None else ""
        raise WeightsError(f"weights{origin} do not fit {type(module).__name__}: {'; '.join(problems)}")
    cast = {
        k: state[k].to(
            device=expected[k].device,
            dtype=expected[k].dtype
            if state[k].is_floating_point() and expected[k].is_floating_point()
            else state[k].dtype,
        )
        for k in expected
        if k in state
    }
    module.load_state_dict(cast, strict=False)
    return LoadReport(missing=tuple(missing), unexpected=tuple(unexpected))


def load_weights(module: torch.nn.Module, path: str | Path, *, strict: bool = True) -> CheckpointMeta:
    """:func:`load_checkpoint` then :func:`load_state_into`; returns the checkpoint's metadata."""
    tensors, meta = load_checkpoint(path)
    load_state_into(module, tensors, strict=strict, source=path)
    return meta
