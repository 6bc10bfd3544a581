"""Reading the official fixtures (tests/released/data/<case>/) and comparing by their ``tolerance`` rules.

Each case.json has ``tolerance.rules``: an ordered list of ``{"tensors": glob, ...}``;
the first rule whose glob matches a tensor name applies (fixtures/official/README.md):

- ``atol``/``rtol``: ``max|actual - reference| <= atol + rtol * max|reference|``;
- ``rule: "exact"``: equal dtype-independent values, bit for bit;
- ``rule: "input ..."`` / ``"informative only"``: not a comparison (refused here).

Shared by every released-model test (ResShift and the SD family).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from torch import Tensor

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Case:
    """One fixture case: its case.json and its tensors."""

    name: str
    info: dict[str, Any]
    tensors: dict[str, Tensor]

    def __getitem__(self, name: str) -> Tensor:
        return self.tensors[name]

    def group(self, prefix: str) -> dict[str, Tensor]:
        """Tensors under ``prefix`` with the prefix removed (e.g. ``state.unet.`` -> official keys)."""
        return {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}

    def rule(self, name: str) -> dict[str, Any]:
        """The first tolerance rule whose glob matches ``name``."""
        for rule in self.info["tolerance"]["rules"]:
            if fnmatch.fnmatchcase(name, rule["tensors"]):
                return rule
        raise KeyError(f"no tolerance rule of case {self.name} matches {name}")

    def check(self, name: str, actual: Tensor, *, rule: dict[str, Any] | None = None,
              atol: float | None = None, rtol: float | None = None) -> float:
        """Assert ``actual`` matches reference ``name`` under its rule (or ``rule``; ``atol``/``rtol`` tighten
        a numeric one); return the relative error."""
        chosen = dict(rule or self.rule(name))
        chosen.update({k: v for k, v in (("atol", atol), ("rtol", rtol)) if v is not None})
        return check_tensor(name, actual, self.tensors[name], chosen)


def check_tensor(name: str, actual: Tensor, reference: Tensor, rule: dict[str, Any]) -> float:
    """Compare under one tolerance rule (module docstring); return ``max|diff| / max|reference|``."""
    actual = actual.detach().cpu()
    assert tuple(actual.shape) == tuple(reference.shape), f"{name}: shape {tuple(actual.shape)} != {tuple(reference.shape)}"
    diff = (actual.double() - reference.double()).abs().max().item() if reference.numel() else 0.0
    scale = reference.double().abs().max().item() if reference.numel() else 0.0
    kind = rule.get("rule")
    if kind == "exact":
        assert torch.equal(actual.to(reference.dtype), reference), f"{name}: not exactly equal (max diff {diff:.3g})"
        return 0.0
    if kind is not None and kind.startswith("within 1"):  # 8-bit images
        assert diff <= 1.0, f"{name}: 8-bit values differ by {diff}"
        return diff / scale if scale else diff
    if kind is not None:
        raise AssertionError(f"{name}: rule {kind!r} is not a comparison")
    bound = float(rule.get("atol", 0.0)) + float(rule.get("rtol", 0.0)) * scale
    assert diff <= bound, f"{name}: max diff {diff:.3g} > {bound:.3g} (atol {rule.get('atol')}, rtol {rule.get('rtol')}, max ref {scale:.3g})"
    return diff / scale if scale else diff


@cache
def load_case(name: str, data: Path = DATA) -> Case:
    """The case ``name`` from ``data`` (tests/released/data by default; loaded once per test session)."""
    folder = data / name
    info = json.loads((folder / "case.json").read_text())
    return Case(name=name, info=info, tensors=load_file(str(folder / info.get("tensor_file", "tensors.safetensors"))))


@pytest.fixture(scope="package", autouse=True)
def one_thread():
    """The reduced networks are tiny: one intra-op thread is faster, and far faster on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
