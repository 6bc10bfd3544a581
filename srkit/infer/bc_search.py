"""``find_bc``: Monte-Carlo search of one shared start noise x_T (optimal-BC paper, eq. (20)).

For a deterministic sampler ``h(x_T, y)``, candidate ``k`` is
``x_T^k ~ N(0, I)`` drawn from a generator seeded with ``(seed, k)`` (the same
whatever the batch size or sharding) and is scored by
``L(k) = mean_i metric(h(x_T^k, y_i), z_i)`` over R reference pairs; the BC is
the candidate with the best score. Cost: K x R x NFE network evaluations.

Strategies:

- ``exhaustive``: every (candidate, reference) pair, as in the paper;
- ``racing``: successive halving. All candidates are scored on the first
  ``r0 = max(min(R, 4), ceil(R / 2^ceil(log2 K)))`` references, the better
  half (ties: lower index) is kept and the number of references doubled, until
  one candidate is left or all R references are used; the winner is then
  scored on all R references;
- ``both``: racing, then exhaustive (reusing racing's pairs); the exhaustive
  winner is kept and the report says whether racing found it.

The report (and the BC file) gives the winner's mean score over all R
references and the median candidate's score over the references every
candidate was scored on (all R after an exhaustive pass, racing's first ``r0``
otherwise).

Pairs are evaluated in fixed chunks of ``batch`` (candidate, reference) pairs
in one network batch; under torchrun chunk ``j`` runs on rank ``j mod world``.
Every chunk's scores are appended to a progress file (srkit.infer.search_progress),
so an interrupted search resumes where it stopped with identical results.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import torch
from torch import Tensor

from srkit.errors import SettingError, UsageError
from srkit.infer.bc import DPM_SOLVER_TYPE, BoundaryCondition, effective_spacing, save_bc
from srkit.infer.criteria import Criterion
from srkit.infer.distributed import Shard, barrier, current_shard
from srkit.model import SRModel
from srkit.infer.references import ReferenceSet
from srkit.infer.search_progress import Pair, PairStore, progress_paths
from srkit.infer.seeding import cpu_generator, derive_seed
from srkit.recipes import SamplerConfig
from srkit.sampler_catalogue import CATALOGUE, sampler_cli_name, samplers_for

Strategy = Literal["exhaustive", "racing", "both"]
STRATEGIES = ("exhaustive", "racing", "both")
RACE_MIN_REFS = 4
Progress = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class SearchSettings:
    """What a search is: K candidates, a deterministic sampler, a criterion, a strategy, a batch and a seed."""

    candidates: int
    sampler: SamplerConfig
    strategy: Strategy = "exhaustive"
    batch: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise SettingError("candidates", f"must be >= 1, got {self.candidates}")
        if self.strategy not in STRATEGIES:
            raise SettingError("strategy", f"must be exhaustive, racing or both, got '{self.strategy}'")
        if self.batch < 1:
            raise SettingError("batch", f"must be >= 1, got {self.batch}")


def check_deterministic(cfg: SamplerConfig) -> None:
    """find-bc needs an ODE sampler: refuse stochastic ones with the reason."""
    if not CATALOGUE[cfg.kind].is_deterministic(cfg.eta):
        kind = sampler_cli_name(cfg.kind)
        why = "with eta > 0 it adds noise at every step" if cfg.kind == "ddim" else "it adds fresh noise at every step"
        raise UsageError(
            f"find-bc needs a deterministic sampler (ddim with eta 0, or dpm-solver): '{kind}' is stochastic ({why}), "
            "so a fixed x_T would not determine the output"
        )


def check_process_has_ode_sampler(process_kind: str) -> None:
    """Refuse, with the reason, a model whose process has no deterministic sampler (ResShift, DoSSR: their samplers
    add noise at every step), so no fixed x_T determines the output and eq. 20 has nothing to minimise."""
    fitting = samplers_for(process_kind)
    if not any(CATALOGUE[name].is_deterministic(0.0) for name in fitting):
        names = ", ".join(sampler_cli_name(name) for name in fitting)
        raise UsageError(
            f"find-bc needs a deterministic sampler, and the {process_kind} process has none (samplers that fit it: "
            f"{names}; each adds noise at every step); boundary conditions apply to models of the VP process, such as sr3"
        )


def candidate_noise(seed: int, index: int, shape: Sequence[int]) -> Tensor:
    """Candidate ``index``: standard normal of ``shape`` from a CPU generator seeded with ``(seed, "candidate", index)``."""
    return torch.randn(tuple(shape), generator=cpu_generator(derive_seed(seed, "candidate", index)))


class PairScorer:
    """Scores (candidate, reference) pairs in fixed chunks, sharded, recorded in a :class:`PairStore`."""

    def __init__(
        self,
        model: SRModel,
        refs: ReferenceSet,
        criterion: Criterion,
        settings: SearchSettings,
        store: PairStore,
        shard: Shard,
        progress: Progress,
    ) -> None:
        self.model, self.refs, self.criterion, self.settings = model, refs, criterion, settings
        self.store, self.shard, self.progress = store, shard, progress
        self.shape = model.start_shape(refs.lr[:1].shape)[1:]
        self.nfe_per_sample = 0
        self.computed = 0

    def _score_chunk(self, chunk: Sequence[Pair]) -> list[tuple[int, int, float]]:
        lr = self.refs.lr[[r for _, r in chunk]]
        noise = torch.stack([candidate_noise(self.settings.seed, k, self.shape) for k, _ in chunk])
        sr, nfe = self.model.super_resolve(lr, sampler=self.settings.sampler, noise=noise, generator=cpu_generator(0))
        self.nfe_per_sample = nfe
        values = self.criterion.score(sr, self.refs.hr[[r for _, r in chunk]].to(sr.device))
        return [(k, r, float(v)) for (k, r), v in zip(chunk, values.tolist(), strict=True)]

    def evaluate(self, pairs: Sequence[Pair], label: str) -> None:
        """Score every pair of ``pairs`` not yet in the store (this rank's chunks), then gather all ranks' scores."""
        todo = [p for p in pairs if p not in self.store.values]
        size = self.settings.batch
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        mine = chunks[self.shard.rank :: self.shard.world]
        done = len(pairs) - len(todo)
        self.progress("pairs", {"label": label, "done": done, "total": len(pairs)})
        for chunk in mine:
            self.store.add(self._score_chunk(chunk))
            self.computed += len(chunk)
            done += len(chunk) * self.shard.world
            self.progress("pairs", {"label": label, "done": min(done, len(pairs)), "total": len(pairs)})
        if self.shard.world > 1:
            barrier(self.shard, str(self.model.device))
            self.store.merge_others()

    def mean_loss(self, k: int, refs: int) -> float:
        """The minimised quantity of candidate ``k`` over references ``0..refs-1``."""
        return self.criterion.loss(self.mean_score(k, refs))

    def mean_score(self, k: int, refs: int) -> float:
        return statistics.fmean(self.store.values[(k, r)] for r in range(refs))


def exhaustive(scorer: PairScorer, K: int, R: int) -> tuple[int, set[Pair]]:
    """Score every pair; the winner minimises the mean loss over all R references (ties: lower index)."""
    pairs = [(k, r) for k in range(K) for r in range(R)]
    scorer.evaluate(pairs, "exhaustive")
    return min(range(K), key=lambda k: (scorer.mean_loss(k, R), k)), set(pairs)


def race_start_refs(K: int, R: int) -> int:
    """References of racing's first round: ``max(min(R, 4), ceil(R / 2^ceil(log2 K)))``."""
    return max(min(R, RACE_MIN_REFS), math.ceil(R / 2 ** math.ceil(math.log2(K)))) if K > 1 else R


def racing(scorer: PairScorer, K: int, R: int) -> tuple[int, set[Pair]]:
    """Successive halving (module docstring); returns the winner and every pair it needed."""
    survivors, refs = list(range(K)), race_start_refs(K, R)
    used: set[Pair] = set()
    for round_index in range(K + 1):
        pairs = [(k, r) for k in survivors for r in range(refs)]
        scorer.evaluate(pairs, f"racing round {round_index + 1}: {len(survivors)} x {refs}")
        used.update(pairs)
        if len(survivors) == 1 or refs == R:
            break
        survivors = sorted(survivors, key=lambda k: (scorer.mean_loss(k, refs), k))[: math.ceil(len(survivors) / 2)]
        refs = min(R, 2 * refs)
    winner = min(survivors, key=lambda k: (scorer.mean_loss(k, refs), k))
    final = [(winner, r) for r in range(R)]
    scorer.evaluate(final, "racing: winner on all references")
    used.update(final)
    return winner, used


def find_bc(
    model: SRModel,
    refs: ReferenceSet,
    criterion: Criterion,
    settings: SearchSettings,
    *,
    out: str | Path,
    resume: bool = True,
    progress: Progress | None = None,
    shard: Shard | None = None,
) -> dict[str, Any]:
    """Search the BC, write it to ``out`` (safetensors) and return the report (see the module docstring)."""
    out = Path(out)
    model.sampler(settings.sampler)  # refuses a sampler that does not fit the model, before any work
    check_deterministic(settings.sampler)
    shard = shard or current_shard()
    notify = progress or (lambda kind, info: None)
    K, R = settings.candidates, len(refs)
    shape = model.start_shape(refs.lr[:1].shape)[1:]
    identity = {
        "model_id": model.model_id,
        "sampler": {k: getattr(settings.sampler, k) for k in ("kind", "steps", "order", "eta", "clip_x0")}
        | {"spacing": effective_spacing(settings.sampler.kind, settings.sampler.spacing)}
        | ({"solver_type": DPM_SOLVER_TYPE} if settings.sampler.kind == "dpm_solver" else {}),
        "metric": criterion.name,
        "seed": settings.seed,
        "shape": list(shape),
        "references": refs.fingerprint(),
    }
    store = PairStore(out, identity, shard.rank, shard.world)
    reused = store.load(progress_paths(out)) if resume else 0
    if reused and shard.is_main:
        notify("resumed", {"pairs": reused, "files": [str(p) for p in progress_paths(out)]})
    barrier(shard, str(model.device))  # every rank has read the old progress before any rank rewrites its file
    store.start_file()
    scorer = PairScorer(model, refs, criterion, settings, store, shard, notify)
    started = time.perf_counter()

    report: dict[str, Any] = {"candidates": K, "references": R, "strategy": settings.strategy, "metric": criterion.name}
    winner, pairs = _run_strategy(scorer, settings.strategy, K, R, report)
    nfe = scorer.nfe_per_sample or _nfe_of(model, refs, settings)
    score = scorer.mean_score(winner, R)
    median = statistics.median(scorer.mean_score(k, _common_refs(store, K, R)) for k in range(K))
    for key in ("racing", "exhaustive"):
        if key in report:
            report[key]["nfe"] = report[key]["pairs"] * nfe
    report.update(
        winner=winner,
        score=score,
        median_score=median,
        lower_is_better=criterion.lower_is_better,
        nfe_per_sample=nfe,
        nfe=len(pairs) * nfe,
        pairs_evaluated=len(pairs),
        pairs_computed=scorer.computed,
        pairs_reused=reused,
        shape=list(shape),
        seconds=round(time.perf_counter() - started, 3),
        out=str(out),
    )
    if shard.is_main:
        save_bc(out, _boundary_condition(model, refs, criterion, settings, report))
        for path in progress_paths(out):  # the search is complete: nothing left to resume
            path.unlink(missing_ok=True)
    return report


def _run_strategy(scorer: PairScorer, strategy: str, K: int, R: int, report: dict[str, Any]) -> tuple[int, set[Pair]]:
    """Run racing and/or exhaustive search, recording each one's winner and pairs in ``report``."""
    if strategy in ("racing", "both"):
        winner, pairs = racing(scorer, K, R)
        report["racing"] = {"winner": winner, "pairs": len(pairs), "score": scorer.mean_score(winner, R)}
    if strategy in ("exhaustive", "both"):
        winner, pairs = exhaustive(scorer, K, R)
        report["exhaustive"] = {"winner": winner, "pairs": len(pairs), "score": scorer.mean_score(winner, R)}
    if strategy == "both":
        report["racing_found_exhaustive_winner"] = report["racing"]["winner"] == report["exhaustive"]["winner"]
    return winner, pairs


def _common_refs(store: PairStore, K: int, R: int) -> int:
    """How many leading references every candidate has been scored on (R after exhaustive, racing's r0 after racing)."""
    return min(next((r for r in range(R) if (k, r) not in store.values), R) for k in range(K))


def _boundary_condition(
    model: SRModel, refs: ReferenceSet, criterion: Criterion, settings: SearchSettings, report: dict[str, Any]
) -> BoundaryCondition:
    """The winning candidate with its provenance, as stored in the BC file."""
    sampler = settings.sampler
    return BoundaryCondition(
        x_T=candidate_noise(settings.seed, report["winner"], report["shape"]),
        model_id=model.model_id,
        recipe=model.recipe.name,
        sampler=sampler.kind,
        steps=sampler.steps,
        order=sampler.order,
        spacing=effective_spacing(sampler.kind, sampler.spacing),
        solver_type=DPM_SOLVER_TYPE if sampler.kind == "dpm_solver" else "",
        metric=criterion.name,
        score=report["score"],
        median_score=report["median_score"],
        extra={
            "candidate": report["winner"],
            "candidates": report["candidates"],
            "references": report["references"],
            "reference_source": refs.source,
            "strategy": settings.strategy,
            "seed": settings.seed,
            "eta": sampler.eta,
            "lr_size": list(refs.lr.shape[-2:]),
            "hr_size": list(refs.hr.shape[-2:]),
            "nfe": report["nfe"],
        },
    )


def _nfe_of(model: SRModel, refs: ReferenceSet, settings: SearchSettings) -> int:
    """NFE per sample when every pair came from the progress file (one probe run of one sample)."""
    noise = candidate_noise(settings.seed, 0, model.start_shape(refs.lr[:1].shape)[1:])[None]
    return model.super_resolve(refs.lr[:1], sampler=settings.sampler, noise=noise)[1]
