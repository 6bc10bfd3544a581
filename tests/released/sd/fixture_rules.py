"""Read an official fixture case (``data/<case>/``) and compare tensors by its ``tolerance`` rules.

``case.json``'s ``tolerance.rules`` is an ordered list of glob patterns over tensor names;
the first match applies: ``input`` (never compared), ``exact``, ``within 1`` (8-bit
images), or ``max|actual - reference| <= atol + rtol * max|reference|``.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import Tensor

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Case:
    name: str
    meta: dict[str, Any]
    tensors: dict[str, Tensor]

    def __getitem__(self, name: str) -> Tensor:
        return self.tensors[name]

    def group(self, prefix: str) -> dict[str, Tensor]:
        """Tensors under ``prefix`` with the prefix removed (e.g. the official state dict under ``state.``)."""
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    def rule(self, name: str) -> dict[str, Any]:
        for rule in self.meta["tolerance"]["rules"]:
            if fnmatch.fnmatchcase(name, rule["tensors"]):
                return rule
        raise KeyError(f"no tolerance rule matches {name!r}")

    def check(self, name: str, actual: Tensor, *, atol: float | None = None, rtol: float | None = None) -> None:
        """Assert ``actual`` matches tensor ``name`` under its rule (or the given tighter atol/rtol)."""
        reference = self.tensors[name]
        rule = self.rule(name)
        actual = actual.detach().cpu()
        assert tuple(actual.shape) == tuple(reference.shape), f"{name}: shape {tuple(actual.shape)} != {tuple(reference.shape)}"
        kind = rule.get("rule", "")
        if kind.startswith("input"):
            raise AssertionError(f"{name} is an input of the case, not a result")
        if kind == "exact":
            assert torch.equal(actual.to(reference.dtype), reference), f"{name}: not exactly equal"
            return
        diff = (actual.double() - reference.double()).abs().max().item()
        if kind.startswith("within 1"):
            assert diff <= 1.0, f"{name}: 8-bit values differ by {diff}"
            return
        atol = rule["atol"] if atol is None else atol
        rtol = rule["rtol"] if rtol is None else rtol
        bound = atol + rtol * reference.double().abs().max().item()
        assert diff <= bound, f"{name}: max abs diff {diff:.3g} > {bound:.3g} (atol {atol}, rtol {rtol})"


@cache
def load_case(name: str) -> Case:
    folder = DATA / name
    return Case(name, json.loads((folder / "case.json").read_text()), load_file(folder / "tensors.safetensors"))


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
