"""Item 7 of issue 21: find-bc says its cost and sources up front, cleans its progress, says when it resumed;
a user recipe extending a built-in one runs on that built-in's weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from srkit.infer import bc_search
from srkit.infer.bc_cost import racing_pairs, search_pairs
from srkit.io.images import write_image
from tests.cli.cli_helpers import run


class CountingScorer:
    """Stands in for PairScorer in ``racing``: random but fixed losses, counting the distinct pairs asked for."""

    def __init__(self, K: int, R: int) -> None:
        self.loss = np.random.default_rng(K * 1000 + R).random((K, R))
        self.pairs: set[tuple[int, int]] = set()

    def evaluate(self, pairs: list[tuple[int, int]], label: str) -> None:
        self.pairs.update(pairs)

    def mean_loss(self, k: int, refs: int) -> float:
        return float(self.loss[k, :refs].mean())


@pytest.mark.parametrize(("K", "R"), [(1, 1), (4, 5), (7, 3), (32, 16), (1000, 300), (5, 64)])
def test_the_announced_racing_cost_is_what_racing_scores(K: int, R: int) -> None:
    scorer = CountingScorer(K, R)
    _, used = bc_search.racing(scorer, K, R)  # type: ignore[arg-type]
    assert racing_pairs(K, R) == len(used) == len(scorer.pairs)
    assert search_pairs(K, R, "exhaustive") == search_pairs(K, R, "both") == K * R


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    write_image(tmp_path / "photos" / "a.png", (rng.random((40, 40, 3)) * 255).astype(np.uint8))
    write_image(tmp_path / "photos" / "b.png", (rng.random((40, 40, 3)) * 255).astype(np.uint8))
    write_image(tmp_path / "photos" / "small.png", (rng.random((8, 8, 3)) * 255).astype(np.uint8))
    return tmp_path / "photos"


def _search(capsys, weights: Path, photos: Path, out: Path) -> tuple[int, str, str]:
    return run(capsys, "find-bc", "--weights", weights, "--hr-dir", photos, "--ref", 3, "--candidates", 4, "--crop", 16,
               "--steps", 2, "--metric", "mse", "--out", out, "--device", "cpu")


def test_find_bc_says_sources_and_cost_first_and_leaves_no_progress(capsys, tmp_path: Path, weights: Path, photos: Path) -> None:
    out = tmp_path / "bc.safetensors"
    code, _, err = _search(capsys, weights, photos, out)
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0] == f"3 references of 16 px cut from 2 of the 3 photos in {photos}; 1 smaller than 16 px skipped"
    assert lines[1].startswith("find-bc: 4 candidates x 3 references = 12 samples x 2 NFE = 24 network calls; about ")
    assert out.is_file() and not list(tmp_path.glob("*.progress*.jsonl"))


def test_a_resumed_search_says_so(capsys, tmp_path: Path, weights: Path, photos: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bc.safetensors"

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # stopped after scoring, before saving: the progress file stays

    monkeypatch.setattr(bc_search, "save_bc", killed)
    code, _, _ = _search(capsys, weights, photos, out)
    assert code == 130 and list(tmp_path.glob("*.progress*.jsonl"))
    monkeypatch.undo()
    code, _, err = _search(capsys, weights, photos, out)
    assert code == 0, err
    assert "resumed: 12 pairs already scored, read from " in err
    assert not list(tmp_path.glob("*.progress*.jsonl"))


def test_help_shows_hr_dir_and_the_default_metric_agrees_with_the_recipes(capsys) -> None:
    from srkit.recipes import load_recipe

    code, out, _ = run(capsys, "find-bc", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "--hr-dir photos/" in text
    assert "psnr for the built-in sr3 model, lpips in the method recipes" in text
    assert load_recipe("builtin/sr3").bc.metric == "psnr" and load_recipe("sr3").bc.metric == "lpips"
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "(LPIPS by default)" not in readme


def test_a_user_recipe_extending_a_builtin_runs_on_its_weights(capsys, tmp_path: Path) -> None:
    (tmp_path / "hugesteps.yaml").write_text("extends: builtin/resshift\nsampler: {steps: 2}\n")
    write_image(tmp_path / "in" / "a.png", np.zeros((8, 8, 3), np.uint8))
    code, out, err = run(capsys, "upscale", tmp_path / "in", tmp_path / "out", "--recipe", tmp_path / "hugesteps.yaml",
                         "--json", "-q", "--device", "cpu")
    assert code == 0, err
    report = json.loads(out)
    from srkit.io.checkpoints import load_checkpoint
    from srkit.weights.builtin import builtin_weights_path

    assert report["method"] == "hugesteps" and report["sampler"]["steps"] == 2
    assert report["model_id"] == load_checkpoint(builtin_weights_path("resshift"))[1].model_id
    assert not math.isnan(report["seconds"])
