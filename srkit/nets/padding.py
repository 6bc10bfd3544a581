"""Any-size inputs: pad to the multiple a network needs, crop back afterwards."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom and right of an NCHW tensor up to a multiple of ``multiple``.

    Reflect padding (no artificial edge) where the image is large enough for it,
    replicate otherwise (reflect needs ``pad < size``). Returns ``x`` itself when
    no padding is needed.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < h and pad_w < w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def crop_to(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Top-left ``height x width`` crop (a view; undoes :func:`pad_to_multiple`)."""
    if x.shape[-2:] == (height, width):
        return x
    return x[..., :height, :width]
