"""Sharding work across processes started by ``torchrun`` (one per device).

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; work item ``i``
goes to rank ``i % WORLD_SIZE``. Outputs never depend on the sharding because
every image's and candidate's randomness is derived from its own key.
A gloo/NCCL process group is joined only when results must be gathered
(``barrier`` before rank 0 merges the per-rank files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class Shard:
    """This process's place among ``world`` processes."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def take(self, items: Sequence[Item]) -> list[Item]:
        """The items of this rank: ``items[rank::world]``."""
        return list(items[self.rank :: self.world])

    def device(self, device: str) -> str:
        """``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun; other devices are kept."""
        return f"cuda:{self.local_rank}" if device == "cuda" and self.world > 1 else device


def current_shard() -> Shard:
    """The shard described by torchrun's environment (a single process without it)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return Shard(rank=rank, world=max(world, 1), local_rank=int(os.environ.get("LOCAL_RANK", str(rank))))


def barrier(shard: Shard, device: str) -> None:
    """Wait for every rank (joins the default process group on first use; no-op for one process)."""
    if shard.world == 1:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    dist.barrier()
