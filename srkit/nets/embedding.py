"""Sinusoidal timestep embedding (Vaswani et al. 2017; as in DDPM/ADM)."""

from __future__ import annotations

import math

import torch

MAX_PERIOD = 10_000.0


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = MAX_PERIOD) -> torch.Tensor:
    """Embed float timesteps ``t`` (shape ``(B,)``) into ``(B, dim)`` features.

    ``emb = [cos(t * f_k), sin(t * f_k)]`` with ``f_k = max_period**(-k / half)``,
    ``k = 0..half-1``. Computed in float32 (also under autocast), so
    integer-valued timesteps up to a few thousand (srkit uses 0..2000) keep their
    phase: the highest frequency is 1 rad/step and float32 resolves ``t * f_k``
    to ~2e-4 rad at t = 2000. Odd ``dim`` gets a zero pad column.
    """
    if t.ndim != 1:
        raise ValueError(f"timesteps must have shape (B,), got {tuple(t.shape)}")
    half = dim // 2
    k = torch.arange(half, device=t.device, dtype=torch.float32)
    freqs = torch.exp(-math.log(max_period) * k / half)
    args = t.to(torch.float32)[:, None] * freqs[None, :]  # element-wise ops: autocast leaves them in float32
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb
