"""Where to run: the user's ``--device`` name (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) to a checked device name.

Imports torch only when called, so the CLI can import it at start-up.
"""

from __future__ import annotations

from srkit.errors import UsageError


def resolve_device(name: str) -> str:
    """'auto' -> the best available device; validates explicit names (imports torch)."""
    import torch

    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if ":" in name:
            index = name.split(":", 1)[1]
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise UsageError(f"--device {name}: no such CUDA device (found {torch.cuda.device_count()})")
        return name
    if name == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise UsageError("--device mps: MPS is not available on this machine (use --device cpu)")
        return "mps"
    raise UsageError(f"--device must be auto, cpu, cuda, cuda:N or mps, got '{name}'")
