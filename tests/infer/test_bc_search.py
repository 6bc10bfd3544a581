"""find_bc: equals a brute-force loop, racing saves NFE, resume is exact, settings and samplers are checked."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.infer.tiny_model import tiny_model

from srkit.errors import MetricUnavailable, UsageError
from srkit.infer.bc import load_bc
from srkit.infer.bc_search import (
    SearchSettings,
    candidate_noise,
    find_bc,
    race_start_refs,
)
from srkit.infer.criteria import make_criterion
from srkit.infer.references import ReferenceSet, made_references, paired_references
from srkit.io.images import write_image

SEED = 11


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def make_refs(count: int, size: int = 16) -> ReferenceSet:
    from srkit.degrade.bicubic import downsample_bicubic

    gen = torch.Generator().manual_seed(3)
    base = torch.linspace(0, 1, size)
    hr = torch.stack([(0.5 + 0.4 * torch.sin(6 * base[None, :] * (i + 1) + base[:, None] * 3 + torch.rand(3, 1, 1, generator=gen) * 6)).clamp(0, 1) for i in range(count)])
    return ReferenceSet(hr, downsample_bicubic(hr, 4).clamp(0, 1), "test")


@pytest.fixture(scope="module")
def refs() -> ReferenceSet:
    return make_refs(8)


def settings(model, K: int, strategy: str = "exhaustive", batch: int = 5, **sampler) -> SearchSettings:
    cfg = model.recipe.sampler.with_overrides(**sampler) if sampler else model.recipe.sampler
    return SearchSettings(candidates=K, sampler=cfg, strategy=strategy, batch=batch, seed=SEED)  # type: ignore[arg-type]


def brute_force(model, refs: ReferenceSet, K: int, R: int) -> list[float]:
    """Mean MSE of each candidate, one sample at a time."""
    shape = model.start_shape(refs.lr[:1].shape)[1:]
    scores = []
    for k in range(K):
        values = []
        for r in range(R):
            sr, _ = model.super_resolve(refs.lr[r : r + 1], noise=candidate_noise(SEED, k, shape)[None])
            values.append(float((sr.double() - refs.hr[r : r + 1].double()).pow(2).mean()))
        scores.append(statistics.fmean(values))
    return scores


def test_exhaustive_search_equals_a_brute_force_loop(tmp_path: Path, model, refs) -> None:
    three = ReferenceSet(refs.hr[:3], refs.lr[:3], "test")
    report = find_bc(model, three, make_criterion("mse"), settings(model, 8), out=tmp_path / "bc.safetensors")
    expected = brute_force(model, three, 8, 3)
    assert report["winner"] == int(np.argmin(expected))
    assert report["score"] == pytest.approx(min(expected), rel=1e-5)
    assert report["median_score"] == pytest.approx(statistics.median(expected), rel=1e-5)
    assert report["pairs_evaluated"] == 24 and report["nfe"] == 24 * 3
    bc = load_bc(tmp_path / "bc.safetensors")
    assert torch.equal(bc.x_T, candidate_noise(SEED, report["winner"], (3, 16, 16)))
    assert (bc.sampler, bc.steps, bc.spacing, bc.metric, bc.model_id) == ("ddim", 3, "trailing", "mse", model.model_id)
    assert bc.score == pytest.approx(report["score"]) and bc.extra["candidate"] == report["winner"]


def test_racing_returns_a_valid_candidate_with_fewer_nfe(tmp_path: Path, model, refs) -> None:
    assert race_start_refs(8, 8) == 4
    report = find_bc(model, refs, make_criterion("psnr"), settings(model, 8, "both"), out=tmp_path / "bc.safetensors")
    racing, exhaustive = report["racing"], report["exhaustive"]
    assert 0 <= racing["winner"] < 8
    assert racing["pairs"] == 8 * 4 + 4 * 4  # round 1: 8 x 4 refs; round 2: the best 4 on all 8 refs
    assert racing["nfe"] < exhaustive["nfe"] == 8 * 8 * 3
    assert report["racing_found_exhaustive_winner"] == (racing["winner"] == exhaustive["winner"])
    assert report["winner"] == exhaustive["winner"] and report["pairs_computed"] == 8 * 8  # racing's pairs reused
    assert not report["lower_is_better"]  # PSNR: the winner has the highest score
    assert report["score"] >= report["median_score"]


def test_an_interrupted_search_resumes_to_the_same_result(tmp_path: Path, model, refs) -> None:
    four = ReferenceSet(refs.hr[:4], refs.lr[:4], "test")
    full = find_bc(model, four, make_criterion("mse"), settings(model, 5, batch=4), out=tmp_path / "full.safetensors")

    def stop_after_two_batches(kind: str, info: dict) -> None:
        if kind == "pairs" and info["done"] >= 8:
            raise KeyboardInterrupt

    out = tmp_path / "resumed.safetensors"
    with pytest.raises(KeyboardInterrupt):
        find_bc(model, four, make_criterion("mse"), settings(model, 5, batch=4), out=out, progress=stop_after_two_batches)
    assert not out.exists()
    resumed = find_bc(model, four, make_criterion("mse"), settings(model, 5, batch=4), out=out)
    assert resumed["pairs_reused"] == 8 and resumed["pairs_computed"] == 20 - 8
    assert (resumed["winner"], resumed["score"], resumed["median_score"]) == (full["winner"], full["score"], full["median_score"])
    assert torch.equal(load_bc(out).x_T, load_bc(tmp_path / "full.safetensors").x_T)


def test_progress_of_other_settings_is_refused_not_reused(tmp_path: Path, model, refs) -> None:
    out = tmp_path / "bc.safetensors"

    def interrupt(kind: str, info: dict) -> None:
        if kind == "pairs" and info["done"] > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # a finished search removes its progress: interrupt it to keep some
        find_bc(model, refs, make_criterion("mse"), settings(model, 2), out=out, progress=interrupt)
    with pytest.raises(UsageError, match="other settings"):
        find_bc(model, refs, make_criterion("psnr"), settings(model, 2), out=out)
    fresh = find_bc(model, refs, make_criterion("psnr"), settings(model, 2), out=out, resume=False)
    assert fresh["pairs_reused"] == 0 and fresh["pairs_computed"] == 16


def test_candidates_do_not_depend_on_the_batch_size(tmp_path: Path, model, refs) -> None:
    three = ReferenceSet(refs.hr[:3], refs.lr[:3], "test")
    a = find_bc(model, three, make_criterion("mse"), settings(model, 4, batch=1), out=tmp_path / "a.safetensors")
    b = find_bc(model, three, make_criterion("mse"), settings(model, 4, batch=7), out=tmp_path / "b.safetensors")
    assert a["winner"] == b["winner"] and a["score"] == pytest.approx(b["score"], rel=1e-5)


def test_dpm_solver_is_accepted_and_stochastic_samplers_are_refused(tmp_path: Path, model, refs) -> None:
    report = find_bc(model, refs, make_criterion("mse"), settings(model, 2, sampler="dpm-solver", steps=3, order=2), out=tmp_path / "d.safetensors")
    assert report["nfe_per_sample"] == 3
    for sampler in ({"sampler": "ddpm"}, {"eta": 0.5}):
        with pytest.raises(UsageError, match="deterministic sampler"):
            find_bc(model, refs, make_criterion("mse"), settings(model, 2, **sampler), out=tmp_path / "s.safetensors")


def test_missing_lpips_weights_name_the_file_and_never_fall_back(tmp_path: Path, monkeypatch) -> None:
    from srkit.metrics.perceptual import load_learned_metric

    from ..pretrained.packages import hide_weight_packages

    hide_weight_packages(monkeypatch)
    for var in ("TORCH_HOME", "HF_HOME", "XDG_CACHE_HOME", "HOME"):
        monkeypatch.setenv(var, str(tmp_path / "empty"))
    load_learned_metric.cache_clear()
    with pytest.raises(MetricUnavailable, match="alexnet"):
        make_criterion("lpips", weights_dir=tmp_path / "none")
    load_learned_metric.cache_clear()


def test_made_references_are_seeded_and_independent_of_their_number(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(2):
        write_image(tmp_path / f"{i}.png", (rng.random((40, 36, 3)) * 255).astype(np.uint8))
    three = made_references(tmp_path, 3, 16, 4, "bicubic", seed=1)
    two = made_references(tmp_path, 2, 16, 4, "bicubic", seed=1)
    assert three.hr.shape == (3, 3, 16, 16) and three.lr.shape == (3, 3, 4, 4)
    assert torch.equal(three.hr[:2], two.hr) and torch.equal(three.lr[:2], two.lr)
    assert not torch.equal(made_references(tmp_path, 2, 16, 4, "bicubic", seed=2).hr, two.hr)


def test_paired_references_are_matched_by_name_and_centre_cropped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    hr = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    write_image(tmp_path / "hr" / "a.png", hr)
    write_image(tmp_path / "lr" / "a.jpg", hr[::4, ::4])
    refs = paired_references(tmp_path, 1, 16, 4)
    assert refs.hr.shape == (1, 3, 16, 16) and refs.lr.shape == (1, 3, 4, 4)
    np.testing.assert_allclose(refs.hr[0].permute(1, 2, 0).numpy(), hr[4:20, 8:24] / 255, atol=1e-6)


@pytest.mark.parametrize("process", ["resshift", "dossr"])
def test_find_bc_refuses_processes_without_a_deterministic_sampler(process: str) -> None:
    from srkit.infer.bc_search import check_process_has_ode_sampler

    with pytest.raises(UsageError, match=f"the {process} process has none"):
        check_process_has_ode_sampler(process)
    check_process_has_ode_sampler("vp")
