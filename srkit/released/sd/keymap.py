"""Official SD-family keys -> srkit keys, as a checked plan derived from diffusers' own converters.

diffusers ships the LDM -> diffusers renames (``diffusers.loaders.single_file_utils``:
``convert_ldm_unet_checkpoint``, ``convert_controlnet_checkpoint``,
``convert_ldm_vae_checkpoint``). They take a whole state dict and return a new one,
so they cannot say which source key fed which target. :func:`trace_renames` runs
a converter on *tags* instead of tensors (each source key becomes a tiny tensor
holding its own index) and reads back, for every target key, the source key it
came from. The result is a plain rename plan that :func:`apply_plan` applies to
the real (memory-mapped) tensors one at a time, checking shapes; every source key
must be consumed by some plan or listed as ignored (:func:`check_all_consumed`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from srkit.errors import WeightsError

Converter = Callable[[dict[str, Tensor]], Mapping[str, Tensor | None]]


@dataclass(frozen=True)
class RenamePlan:
    """``target -> source`` key pairs of one network, and the source keys they consume."""

    renames: dict[str, str]

    @property
    def consumed(self) -> set[str]:
        return set(self.renames.values())


def trace_renames(source_shapes: Mapping[str, tuple[int, ...]], converter: Converter) -> RenamePlan:
    """Which source key each target key of ``converter`` comes from.

    Each source key is replaced by a tensor of ones-sized dims (same ``ndim``) holding its
    index, so reshapes such as a 1x1 conv read as a linear layer keep the tag. A target
    the converter fills with ``None`` (a key it expected but did not find) is dropped
    here and reported later as a missing target.
    """
    names = list(source_shapes)
    tags = {k: torch.full((1,) * len(source_shapes[k]), float(i), dtype=torch.float64) for i, k in enumerate(names)}
    renames: dict[str, str] = {}
    for target, value in converter(tags).items():
        if value is None:
            continue
        renames[target] = names[int(value.flatten()[0].item())]
    return RenamePlan(renames)


def prefixed(prefix: str, plan: RenamePlan) -> RenamePlan:
    """The same plan with ``prefix`` in front of every target key."""
    return RenamePlan({prefix + t: s for t, s in plan.renames.items()})


def identity_plan(keys: Iterable[str], source_prefix: str, target_prefix: str) -> RenamePlan:
    """Keys under ``source_prefix`` kept as they are, moved under ``target_prefix``."""
    return RenamePlan({target_prefix + k[len(source_prefix):]: k for k in keys if k.startswith(source_prefix)})


def fitted(source: Tensor, shape: tuple[int, ...], target: str, source_key: str) -> Tensor:
    """``source`` in the target ``shape``: equal shapes, or a 1x1 conv kernel read as a linear weight."""
    if tuple(source.shape) == shape:
        return source
    squeezed = tuple(d for i, d in enumerate(source.shape) if i < len(shape) or d != 1)
    if squeezed == shape:
        return source.reshape(shape)
    raise WeightsError(f"{source_key} has shape {tuple(source.shape)}, but {target} needs {shape}")


def apply_plan(
    state: Mapping[str, Tensor], plan: RenamePlan, target_shapes: Mapping[str, tuple[int, ...]], what: str
) -> dict[str, Tensor]:
    """Fill every key of ``target_shapes`` from ``state`` through ``plan``; name what is missing or extra."""
    missing = sorted(set(target_shapes) - set(plan.renames))
    if missing:
        raise WeightsError(f"{what}: no source for {len(missing)} weights, first {missing[0]!r}{nearest(missing[0], state)}")
    extra = sorted(set(plan.renames) - set(target_shapes))
    if extra:
        source = plan.renames[extra[0]]
        raise WeightsError(f"{what}: {source!r} maps to {extra[0]!r}, which the network does not have{nearest(extra[0], target_shapes)}")
    return {t: fitted(state[plan.renames[t]], target_shapes[t], t, plan.renames[t]) for t in target_shapes}


def check_all_consumed(keys: Iterable[str], consumed: set[str], ignored: Callable[[str], bool], expected: Iterable[str], what: str) -> None:
    """Raise for the first source key that no plan consumes and no ignore rule covers."""
    left = sorted(k for k in keys if k not in consumed and not ignored(k))
    if left:
        raise WeightsError(f"{what}: unexpected key {left[0]!r} ({len(left)} in all){nearest(left[0], expected)}")


def nearest(key: str, candidates: Iterable[str]) -> str:
    """``"; closest expected: '...'"`` for the most similar candidate, or an empty string."""
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return f"; closest expected: {close[0]!r}" if close else ""
