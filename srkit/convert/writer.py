"""Write a safetensors file one tensor at a time, atomically.

``safetensors.torch.save_file`` copies every tensor to bytes before writing, so
its peak memory is the whole file; this writer streams: a header, then each
tensor's bytes (one contiguous copy at a time), in sorted key order, into a
temporary file renamed over the target at the end (:func:`srkit.io.atomic.atomic_path`).
The result is an ordinary srkit safetensors file (8-byte little-endian header length,
JSON header with ``__metadata__``, 8-byte aligned data).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import Tensor

from srkit.errors import UsageError
from srkit.io.atomic import atomic_path
from srkit.io.checkpoints import MODEL_ID_LENGTH, hash_tensor, strip_wrapper_name

_PLACEHOLDER = "0" * MODEL_ID_LENGTH

DTYPES: dict[torch.dtype, str] = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}


def _stored(tensor: Tensor, dtype: torch.dtype | None) -> Tensor:
    t = tensor.detach().to("cpu")
    if dtype is not None and t.is_floating_point():
        t = t.to(dtype)
    return t.contiguous()


def write_safetensors(
    path: str | Path,
    tensors: Mapping[str, Tensor],
    metadata: Mapping[str, str],
    *,
    dtype: torch.dtype | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, str]:
    """Stream ``tensors`` (floats cast to ``dtype`` if given) and ``metadata`` to ``path``.

    The metadata gets ``model_id``: the content hash of the stored tensors, the same
    as :func:`srkit.io.checkpoints.model_id` (computed while writing, then patched into
    the header). ``progress(done, total)`` is called after each tensor with bytes of
    tensor data. Returns ``(bytes written, model_id)``.
    """
    if sys.byteorder != "little":
        raise UsageError("writing safetensors needs a little-endian machine")
    names = sorted(tensors)
    renamed = [n for n in names if strip_wrapper_name(n) != n]
    if renamed:
        raise UsageError(f"tensor name {renamed[0]!r} looks like a wrapper prefix; rename it")
    meta = {str(k): str(v) for k, v in metadata.items()}
    meta["model_id"] = _PLACEHOLDER
    header: dict[str, object] = {"__metadata__": meta}
    offset = 0
    for name in names:
        t = tensors[name]
        if t.dtype not in DTYPES:
            raise UsageError(f"tensor {name!r} has dtype {t.dtype}, which safetensors cannot store")
        stored_dtype = dtype if dtype is not None and t.is_floating_point() else t.dtype
        size = t.numel() * torch.empty((), dtype=stored_dtype).element_size()
        header[name] = {"dtype": DTYPES[stored_dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    slot = encoded.index(f'"model_id":"{_PLACEHOLDER}"'.encode()) + len('"model_id":"')
    digest = hashlib.sha256()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(len(encoded).to_bytes(8, "little"))
        handle.write(encoded)
        done = 0
        for name in names:
            t = _stored(tensors[name], dtype)
            hash_tensor(digest, name, t)
            if t.numel():
                handle.write(t.reshape(-1).view(torch.uint8).numpy().data)
            done += t.numel() * t.element_size()
            if progress is not None:
                progress(done, offset)
        model_id = digest.hexdigest()[:MODEL_ID_LENGTH]
        handle.seek(8 + slot)
        handle.write(model_id.encode())
    return 8 + len(encoded) + offset, model_id
