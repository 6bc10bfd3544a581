"""Key mapping as data: ordered rules that must account for every source key and fill every target tensor.

A :class:`Rule` matches source keys by a regular expression (full match). The
first matching rule decides: rename (a ``re`` template, or a function of the
match) with an optional tensor transform, or ignore (with a reason). After
mapping, :func:`apply_rules` checks strictly that

- every source key matched a rule (else: named, with the closest target key),
- no two source keys fill the same target,
- every expected target key is filled (else: named, with the closest unused source key),
- every filled tensor has the expected shape.

Problems are reported together in one :class:`~srkit.errors.WeightsError` line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from srkit.errors import WeightsError

Target = str | Callable[[re.Match[str]], str]
Transform = Callable[[Tensor], Tensor]
_SHOWN = 3


@dataclass(frozen=True)
class Rule:
    """Source keys matching ``pattern`` become ``target`` (``None``: ignored, for ``reason``)."""

    pattern: str
    target: Target | None
    transform: Transform | None = None
    reason: str = ""
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def match(self, key: str) -> re.Match[str] | None:
        return self._regex.fullmatch(key)

    def target_of(self, found: re.Match[str]) -> str:
        assert self.target is not None
        return self.target(found) if callable(self.target) else found.expand(self.target)


def rename(pattern: str, target: Target, transform: Transform | None = None) -> Rule:
    """A renaming rule (``target`` may use ``\\1``-style groups or be a function of the match)."""
    return Rule(pattern, target, transform)


def keep(pattern: str) -> Rule:
    """Keep matching keys under their own name."""
    return Rule(pattern, r"\g<0>")


def ignore(pattern: str, reason: str) -> Rule:
    """Consume matching keys without converting them; ``reason`` says why they are not needed."""
    return Rule(pattern, None, reason=reason)


def squeeze_1x1(tensor: Tensor) -> Tensor:
    """A 1x1 conv weight ``(out, in, 1, 1)`` as a linear weight ``(out, in)``."""
    return tensor.reshape(tensor.shape[0], tensor.shape[1])


@dataclass(frozen=True)
class Mapped:
    """The converted tensors and the source keys that rules ignored."""

    tensors: dict[str, Tensor]
    ignored: tuple[str, ...]


def closest(key: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to ``key`` (difflib ratio), or None when there are none."""
    pool = list(candidates)
    found = difflib.get_close_matches(key, pool, n=1, cutoff=0.0)
    return found[0] if found else None


def _named(keys: Sequence[str], pool: Sequence[str], what: str) -> str:
    shown = []
    for key in keys[:_SHOWN]:
        near = closest(key, pool)
        shown.append(f"{key} (closest {what}: {near})" if near else key)
    more = f", and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(shown) + more


def _shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def apply_rules(
    state: Mapping[str, Tensor],
    rules: Sequence[Rule],
    expected: Mapping[str, Sequence[int]],
    *,
    what: str,
) -> Mapped:
    """Map ``state`` through ``rules`` onto the target keys/shapes ``expected``, strictly (module docstring).

    ``what`` names the source in error messages (e.g. ``"the ResShift UNet checkpoint"``).
    Tensors are not copied unless a transform makes a new one.
    """
    out: dict[str, Tensor] = {}
    origin: dict[str, str] = {}
    ignored: list[str] = []
    unmatched: list[str] = []
    twice: list[str] = []
    for key, tensor in state.items():
        for rule in rules:
            found = rule.match(key)
            if found is None:
                continue
            if rule.target is None:
                ignored.append(key)
                break
            name = rule.target_of(found)
            if name in out:
                twice.append(f"{name} (from {origin[name]} and {key})")
                break
            out[name] = rule.transform(tensor) if rule.transform is not None else tensor
            origin[name] = key
            break
        else:
            unmatched.append(key)
    missing = [k for k in expected if k not in out]
    unexpected = [k for k in out if k not in expected]
    shapes = [
        f"{k} (from {origin[k]}): {_shape(out[k].shape)} instead of {_shape(expected[k])}"
        for k in expected
        if k in out and tuple(out[k].shape) != tuple(expected[k])
    ]
    problems = []
    if unmatched:
        problems.append(f"{len(unmatched)} unexpected key(s): {_named(unmatched, missing or list(expected), 'expected')}")
    if unexpected:
        sources = [origin[k] for k in unexpected]
        problems.append(f"{len(unexpected)} unexpected key(s): {_named(sources, missing or list(expected), 'expected')}")
    if twice:
        problems.append(f"{len(twice)} target(s) filled twice: {', '.join(twice[:_SHOWN])}")
    if missing:
        spare = unmatched or list(state)
        problems.append(f"{len(missing)} missing key(s): {_named(missing, spare, 'key in the file')}")
    if shapes:
        problems.append(f"{len(shapes)} wrong shape(s): {', '.join(shapes[:_SHOWN])}")
    if problems:
        raise WeightsError(f"{what} does not fit: {'; '.join(problems)}")
    return Mapped(tensors=out, ignored=tuple(ignored))


def expected_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a module's persistent state (build it on the meta device to make this free)."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}
