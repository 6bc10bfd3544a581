"""The sampler catalogue: a sampler added by one file plus one row works in recipes, `srkit upscale` and `srkit bench`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import assert_one_line_error, run

from srkit.diffusion.build import build_sampler
from srkit.errors import RecipeError, UsageError
from srkit.io.images import write_image
from srkit.recipes import SamplerConfig, load_recipe
from srkit.sampler_catalogue import CATALOGUE, SamplerEntry, catalogue_markdown, deterministic_samplers, sampler_entry

pytestmark = pytest.mark.usefixtures("single_thread")

TOY = SamplerEntry("toy", "tests.diffusion.toy_sampler", ("vp",), ("steps", "clip_x0"), "always", summary="toy DDIM")


@pytest.fixture()
def toy(monkeypatch: pytest.MonkeyPatch) -> SamplerEntry:
    """The one catalogue row of the toy sampler (its one file is tests/diffusion/toy_sampler.py)."""
    monkeypatch.setitem(CATALOGUE, "toy", TOY)
    return TOY


def test_catalogue_reading_imports_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, srkit.sampler_catalogue, srkit.recipes; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_every_catalogue_row_names_a_function_and_determinism_derives_from_it() -> None:
    assert all(callable(entry.fn) for entry in CATALOGUE.values())
    assert deterministic_samplers() == ["ddim", "dpm_solver"]
    assert "| `dpm-solver` | vp |" in catalogue_markdown()


def test_misspelt_sampler_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'dpm-solver'"):
        sampler_entry("dpm-solvr")
    path = tmp_path / "r.yaml"
    path.write_text("extends: builtin/sr3\nname: r\nsampler:\n  kind: dim\n")
    with pytest.raises(RecipeError, match="did you mean 'ddim'"):
        load_recipe(path)


def test_toy_sampler_passes_recipe_validation_and_binds(toy: SamplerEntry, tmp_path: Path) -> None:
    path = tmp_path / "toy.yaml"
    path.write_text("extends: builtin/sr3\nname: toy\nsampler:\n  kind: toy\n  steps: 3\n")
    recipe = load_recipe(path)
    assert recipe.sampler.kind == "toy"
    bound = build_sampler(recipe.sampler, "vp")
    assert bound.deterministic and bound.options == {"steps": 3, "clip_x0": True}
    with pytest.raises(UsageError, match="does not fit the dossr process"):
        build_sampler(SamplerConfig(kind="toy"), "dossr")


def test_toy_sampler_runs_through_upscale_and_bench(toy: SamplerEntry, capsys, tmp_path: Path, weights: Path) -> None:
    rng = np.random.default_rng(0)
    write_image(tmp_path / "in" / "a.png", (rng.random((8, 8, 3)) * 255).astype(np.uint8))
    code, out, err = run(capsys, "upscale", tmp_path / "in", tmp_path / "out", "--weights", weights, "--sampler", "toy",
                         "--steps", "2", "--json", "--quiet", "--device", "cpu")
    assert code == 0, err
    report = json.loads(out)
    assert report["sampler"]["kind"] == "toy" and report["images"][0]["nfe"] == 2

    write_image(tmp_path / "hr" / "h.png", (rng.random((16, 16, 3)) * 255).astype(np.uint8))
    code, out, err = run(capsys, "bench", "--data", tmp_path / "hr", "--methods", "optimal-bc:2:toy", "--weights",
                         f"optimal-bc={weights}", "--metrics", "psnr", "--device", "cpu", "--json", "--quiet", "--no-realesrgan")
    assert code == 0, err
    row = json.loads(out)["rows"][1]
    assert (row["sampler"], row["nfe"]) == ("toy", 2)


def test_toy_sampler_refuses_options_it_does_not_take(toy: SamplerEntry, capsys, tmp_path: Path, weights: Path) -> None:
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    code, _, err = run(capsys, "upscale", tmp_path / "a.png", tmp_path / "o", "--weights", weights, "--sampler", "toy", "--eta", "0.5")
    assert_one_line_error(code, err, 2, "sampler 'toy' has no eta setting")


def test_the_architecture_doc_shows_the_catalogue_table() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert catalogue_markdown() in doc
