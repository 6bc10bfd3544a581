"""The sampler catalogue: one torch-free row per sampler, from which everything else derives.

Recipe validation (:class:`srkit.recipes.SamplerConfig`), the CLI's sampler names
and help, the determinism checks of boundary conditions and find-bc, bench's
row descriptions and the sampler table in the docs all read :data:`CATALOGUE`.
Each row names the function that implements the sampler, ``sample_NAME`` in
``srkit/diffusion/samplers/MODULE.py`` (docs/architecture.md, "Adding a
sampler"); it is imported only when a run binds the sampler
(:func:`srkit.diffusion.build.build_sampler`), so reading the table costs no torch import.

Adding a sampler = one new file in ``srkit/diffusion/samplers/`` with a function
``sample_x(denoiser, process, y, *, <options>, noise, generator, callback)`` and
one row below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from srkit.config_schema import closest_key
from srkit.errors import UsageError

# Keyword settings a sampler may take (besides noise/generator/callback), as SamplerConfig names them.
SAMPLER_OPTIONS = ("steps", "sections", "order", "eta", "t_max", "t_min", "clip_x0", "spacing")
DETERMINISM = ("always", "never", "eta0")


@dataclass(frozen=True)
class SamplerEntry:
    """One sampler and its contract.

    ``module``: the file in ``srkit.diffusion.samplers`` (or a full dotted module path)
    holding ``function`` (default ``sample_<name>``). ``options``: the settings it takes.
    ``deterministic``: ``"always"``, ``"never"`` or ``"eta0"`` (only with ``eta = 0``);
    a deterministic sampler maps one start noise to one output (a BC needs this).
    """

    name: str
    module: str
    processes: tuple[str, ...]
    options: tuple[str, ...]
    deterministic: str
    orders: tuple[int, ...] = (1,)
    summary: str = ""
    function: str = ""

    def __post_init__(self) -> None:
        unknown = [o for o in self.options if o not in SAMPLER_OPTIONS]
        if unknown or self.deterministic not in DETERMINISM:
            raise ValueError(f"catalogue row {self.name!r}: unknown options {unknown} or determinism {self.deterministic!r}")

    @property
    def cli_name(self) -> str:
        """The name as the command line spells it (``dpm_solver`` -> ``dpm-solver``)."""
        return sampler_cli_name(self.name)

    def is_deterministic(self, eta: float = 0.0) -> bool:
        """Whether the output depends only on the start noise (with this ``eta``)."""
        return self.deterministic == "always" or (self.deterministic == "eta0" and eta == 0.0)

    @property
    def fn(self) -> Callable[..., Any]:
        """The sampler function (imports its module, hence torch)."""
        path = self.module if "." in self.module else f"srkit.diffusion.samplers.{self.module}"
        return getattr(importlib.import_module(path), self.function or f"sample_{self.name}")


CATALOGUE: dict[str, SamplerEntry] = {
    entry.name: entry
    for entry in (
        SamplerEntry(
            "ddpm", "ddpm", ("vp",), ("steps", "sections", "clip_x0"), "never",
            summary="DDPM ancestral, respaced to N steps or sections like '45,20,15,10,10'",
        ),
        SamplerEntry(
            "ddim", "ddim", ("vp",), ("steps", "eta", "clip_x0", "spacing"), "eta0",
            summary="DDIM; eta=0 is the deterministic ODE sampler",
        ),
        SamplerEntry(
            "dpm_solver", "dpm_solver", ("vp",), ("steps", "order", "clip_x0", "spacing"), "always", (1, 2, 3),
            summary="DPM-Solver++ multistep (deterministic), orders 1-3",
        ),
        SamplerEntry(
            "resshift", "resshift", ("resshift",), ("steps", "clip_x0"), "never",
            summary="ResShift reverse chain (steps <= T)",
        ),
        SamplerEntry(
            "dos_sde", "dos_sde", ("dossr",), ("steps", "order", "clip_x0"), "never", (1, 2, 3),
            summary="DoSSR DoS-SDE solver from t1, orders 1-3",
        ),
        SamplerEntry(
            "ccsr", "ccsr", ("vp",), ("steps", "t_max", "t_min", "clip_x0"), "never",
            summary="CCSR truncated non-uniform sampling; NFE = 1 + steps",
        ),
    )
}


def sampler_cli_name(name: str) -> str:
    """A sampler name as the CLI spells it (``dpm_solver`` -> ``dpm-solver``)."""
    return name.replace("_", "-")


def one_of(names: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def sampler_entry(name: str) -> SamplerEntry:
    """The row called ``name`` (``dpm-solver`` or ``dpm_solver``); a UsageError naming the closest one otherwise."""
    kind = str(name).strip().lower().replace("-", "_")
    if kind in CATALOGUE:
        return CATALOGUE[kind]
    near = closest_key(kind, CATALOGUE)
    hint = f"did you mean '{sampler_cli_name(near)}'?" if near else f"choose one of {sampler_names_text()}"
    raise UsageError(f"unknown sampler '{name}': {hint}")


def samplers_for(process_kind: str) -> list[str]:
    """Names of the samplers that walk back ``process_kind``, in catalogue order."""
    return [name for name, entry in CATALOGUE.items() if process_kind in entry.processes]


def deterministic_samplers() -> list[str]:
    """Samplers that can be deterministic (with ``eta = 0`` where they have one): the ones a BC can use."""
    return [name for name, entry in CATALOGUE.items() if entry.is_deterministic(0.0)]


def sampler_names_text(names: list[str] | None = None) -> str:
    """CLI spellings joined for help and errors: ``ddpm, ddim, dpm-solver, ...``."""
    return ", ".join(sampler_cli_name(n) for n in (names if names is not None else list(CATALOGUE)))


def order_options_text() -> str:
    """The samplers with an order setting, for help: ``dpm-solver, dos-sde``."""
    return sampler_names_text([n for n, e in CATALOGUE.items() if "order" in e.options])


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (docs/architecture.md)."""
    rows = ["| sampler | processes | options | orders | deterministic | summary |", "|---|---|---|---|---|---|"]
    for entry in CATALOGUE.values():
        rows.append(
            f"| `{entry.cli_name}` | {', '.join(entry.processes)} | {', '.join(entry.options)} | "
            f"{', '.join(map(str, entry.orders))} | {entry.deterministic} | {entry.summary} |"
        )
    return "\n".join(rows)
