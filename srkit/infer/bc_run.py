"""``find_bc``: the whole boundary-condition search from a method name (library form of ``srkit find-bc``).

Resolves the model, the recipe's ``bc`` settings with the caller's overrides, the
deterministic sampler, the criterion and the references, then runs the search of
:func:`srkit.infer.bc_search.find_bc` (optimal-BC paper, eq. 20). The CLI only
parses its options, calls this and renders the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from srkit.errors import SettingError, UsageError
from srkit.infer import bc_search
from srkit.infer.bc_search import (
    SearchSettings,
    check_deterministic,
    check_process_has_ode_sampler,
)
from srkit.infer.bc_cost import cost_note, probe
from srkit.infer.criteria import make_criterion
from srkit.infer.distributed import Shard, current_shard
from srkit.infer.loading import open_model
from srkit.infer.pipeline import alignment
from srkit.infer.references import (
    ReferenceSet,
    check_crop,
    made_references,
    paired_references,
)
from srkit.io.preflight import references_note
from srkit.model import SRModel
from srkit.model.surface import require_srkit_model
from srkit.recipes import BCConfig, SamplerConfig
from srkit.sampler_catalogue import sampler_entry

DEFAULT_METHOD = "sr3"
Progress = Callable[[str, dict[str, Any]], None]


def find_bc(
    method: str | None = None,
    *,
    recipe: str | None = None,
    weights: str | Path | None = None,
    ref_dir: str | Path | None = None,
    hr_dir: str | Path | None = None,
    out: str | Path = "bc.safetensors",
    ref: int | None = None,
    candidates: int | None = None,
    crop: int | None = None,
    sampler: str | None = None,
    steps: int | None = None,
    order: int | None = None,
    spacing: str | None = None,
    metric: str | None = None,
    strategy: str | None = None,
    batch: int = 8,
    resume: bool = True,
    weights_dir: str | Path | None = None,
    device: str = "cpu",
    seed: int = 0,
    progress: Progress | None = None,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Search a boundary condition for a model and write it to ``out``; returns the report.

    ``method``/``recipe``/``weights`` name the model as ``upscale`` does (default ``sr3``).
    The references are either ``ref_dir`` (paired ``hr/`` and ``lr/`` folders) or
    ``hr_dir`` (photos degraded with the recipe's preset). Every other setting left
    as None comes from the recipe's ``bc`` section (:class:`~srkit.recipes.BCConfig`).
    """
    if (ref_dir is None) == (hr_dir is None):
        raise UsageError("pass exactly one reference source: a paired folder (hr/ and lr/) or HR photos to degrade")
    out = Path(out)
    if out.suffix != ".safetensors":
        raise SettingError("out", f"must name a .safetensors file, got {out}")
    shard = shard or current_shard()
    weights_folder = Path(weights_dir) if weights_dir else None
    if metric is not None:  # a learned metric's weights are checked before the model is loaded
        make_criterion(metric, device=device, weights_dir=weights_folder)
    model = require_srkit_model(
        open_model(method=method, recipe_path=recipe, weights=str(weights) if weights else None, device=device, precision="fp32",
                   default_method=DEFAULT_METHOD), "a boundary-condition search")
    check_process_has_ode_sampler(model.process.kind)
    cfg = model.recipe.bc or BCConfig()
    settings = SearchSettings(
        candidates=candidates or cfg.candidates, sampler=_search_sampler(cfg, sampler, steps, order, spacing),
        strategy=strategy or cfg.strategy, batch=batch, seed=seed,  # type: ignore[arg-type]
    )
    criterion = make_criterion(metric or cfg.metric, device=device, weights_dir=weights_folder)
    references = _references(model, cfg, ref_dir, hr_dir, ref, crop, seed)
    if shard.is_main and progress is not None:  # what was cut from where, and the cost, before the search starts
        source = references_note(hr_dir, ref or cfg.ref, crop or cfg.crop) if hr_dir is not None else f"{len(references)} references from {ref_dir}"
        progress("note", {"text": source})
        progress("note", {"text": cost_note(settings.candidates, len(references), settings, *probe(model, references, settings), device)})
    return bc_search.find_bc(model, references, criterion, settings, out=out, resume=resume, progress=progress, shard=shard)


def _search_sampler(cfg: BCConfig, sampler: str | None, steps: int | None, order: int | None, spacing: str | None) -> SamplerConfig:
    """The recipe's BC sampler (or ``sampler``) with eta 0 and the overrides; refused unless deterministic."""
    entry = sampler_entry(sampler or cfg.sampler)
    base = SamplerConfig(kind=entry.name, steps=cfg.steps, order=cfg.order if "order" in entry.options else 1)
    chosen = base.with_overrides(steps=steps, order=order, eta=0.0, spacing=spacing)
    check_deterministic(chosen)
    return chosen


def _references(model: SRModel, cfg: BCConfig, ref_dir: str | Path | None, hr_dir: str | Path | None, ref: int | None,
                crop: int | None, seed: int) -> ReferenceSet:
    size = crop or cfg.crop
    check_crop(size, model.scale, alignment(model))
    count = ref or cfg.ref
    if ref_dir is not None:
        return paired_references(Path(ref_dir), count, size, model.scale)
    return made_references(Path(hr_dir), count, size, model.scale, model.recipe.data.degradation, seed)  # type: ignore[arg-type]
