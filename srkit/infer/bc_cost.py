"""What a ``find-bc`` search will cost, said before it starts: samples, network calls and time on this device.

Exhaustive search scores every (candidate, reference) pair: ``K x R`` samples
of ``NFE`` network calls each (optimal-BC paper, eq. (20)); racing scores the
pairs of its successive-halving rounds (:func:`racing_pairs`, the same
schedule as :func:`srkit.infer.bc_search.racing`). The time is measured, not
guessed: one sample of one reference is run and timed (:func:`probe`), and the
estimate is that time per sample (batching makes the real run somewhat faster).
"""

from __future__ import annotations

import math
import time

from srkit.infer.bc_search import SearchSettings, candidate_noise, race_start_refs
from srkit.model import SRModel
from srkit.infer.references import ReferenceSet
from srkit.io.progress_lines import duration


def racing_pairs(K: int, R: int) -> int:
    """Pairs successive halving scores: each candidate on the references of the last round it survives,
    the winner on all ``R``."""
    survivors, refs, total = K, race_start_refs(K, R), 0
    for _ in range(K + 1):
        if survivors == 1 or refs == R:
            return total + (survivors - 1) * refs + R
        kept = math.ceil(survivors / 2)
        total += (survivors - kept) * refs
        survivors, refs = kept, min(R, 2 * refs)
    return total + R


def search_pairs(K: int, R: int, strategy: str) -> int:
    """Samples a search of ``strategy`` scores (``both`` reuses racing's pairs in its exhaustive pass)."""
    return racing_pairs(K, R) if strategy == "racing" else K * R


def probe(model: SRModel, refs: ReferenceSet, settings: SearchSettings) -> tuple[float, int]:
    """Seconds and NFE of one sample (candidate 0 on reference 0); the first call pays any warm-up, so the
    estimate errs long rather than short."""
    noise = candidate_noise(settings.seed, 0, model.start_shape(refs.lr[:1].shape)[1:])[None]
    started = time.perf_counter()
    nfe = model.super_resolve(refs.lr[:1], sampler=settings.sampler, noise=noise)[1]
    return time.perf_counter() - started, nfe


def cost_note(K: int, R: int, settings: SearchSettings, seconds: float, nfe: int, device: str) -> str:
    """``find-bc: K x R = N samples x NFE = C network calls; about T on DEVICE (one sample took S)``."""
    pairs = search_pairs(K, R, settings.strategy)
    what = f"{K} candidates x {R} references" + (f", racing: {pairs} of {K * R} pairs" if pairs != K * R else f" = {pairs} samples")
    return (f"find-bc: {what} x {nfe} NFE = {pairs * nfe:,} network calls; about {duration(pairs * seconds)} on {device} "
            f"(one sample took {seconds:.3g} s; a resumed search skips the pairs it has)")
