"""Start a fine-tune at the identity: copy a checkpoint with the denoiser's output conv set to zero.

    python -m srkit.weights.zero_head IN.safetensors OUT.safetensors

With ``network.condition_skip`` and x0 prediction the network returns ``y + body``;
a zero output conv makes ``body = 0``, so the copy returns its condition ``y``
exactly (for the built-in dossr: the Real-ESRGAN preprocessed image) while
keeping every learnt feature below the head. ``srkit train --init OUT`` then
fine-tunes from there. Metadata (recipe, model id) is kept and the id recomputed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from srkit.io.checkpoints import load_checkpoint, save_checkpoint

HEAD = ("net.out_conv.weight", "net.out_conv.bias")


def zero_head(source: Path, target: Path) -> Path:
    """Write ``target``: ``source`` with :data:`HEAD` zeroed, stored in float32."""
    tensors, meta = load_checkpoint(source)
    missing = [name for name in HEAD if name not in tensors]
    if missing:
        raise SystemExit(f"{source} has no {', '.join(missing)}: not an srkit UNet checkpoint")
    out = {name: (torch.zeros_like(t) if name in HEAD else t).float() for name, t in tensors.items()}
    fields = {"kind": meta.kind, "step": 0, "recipe": meta.recipe, "network": meta.network, "extra": meta.extra}
    save_checkpoint(target, out, fields, dtype=torch.float32)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Copy an srkit checkpoint with the denoiser's output conv zeroed.")
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    print(zero_head(args.source, args.target))


if __name__ == "__main__":
    main()
