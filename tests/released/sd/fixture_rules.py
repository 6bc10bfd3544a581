"""The SD-family fixture cases (``data/<case>/``, read and compared by :mod:`tests.released.fixtures`)
and :class:`ReplayNoise`, which hands out a case's recorded draws in order."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from tests.released.fixtures import Case
from tests.released.fixtures import load_case as load_shared_case

DATA = Path(__file__).parent / "data"


def load_case(name: str) -> Case:
    """The case ``name`` from tests/released/sd/data, compared by the shared rules of :mod:`tests.released.fixtures`."""
    return load_shared_case(name, DATA)


class ReplayNoise:
    """A noise source handing out a case's recorded draws (``noise.000``, ``noise.001``, ...) in order."""

    def __init__(self, case: Case, prefix: str = "") -> None:
        names = sorted(k for k in case.tensors if k.startswith(prefix + "noise."))
        self.draws = [case[k] for k in names]
        self.used = 0

    def _next(self) -> Tensor:
        assert self.used < len(self.draws), f"asked for draw {self.used}, only {len(self.draws)} recorded"
        draw = self.draws[self.used]
        self.used += 1
        return draw

    def randn_like(self, x: Tensor) -> Tensor:
        draw = self._next()
        assert draw.is_floating_point() and draw.shape == x.shape, f"draw {self.used - 1}: recorded {tuple(draw.shape)}, asked {tuple(x.shape)}"
        return draw.to(x)

    def randint(self, low: int, high: int, shape: tuple[int, ...]) -> Tensor:
        draw = self._next()
        assert not draw.is_floating_point() and low <= int(draw.min()) and int(draw.max()) < high
        return draw

    @property
    def exhausted(self) -> bool:
        return self.used == len(self.draws)
