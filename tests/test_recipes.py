"""Recipe loading and validation: every shipped recipe loads; bad files fail naming the field."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from srkit.errors import RecipeError, UsageError
from srkit.recipes import list_recipes, load_recipe, recipe_from_mapping

SHIPPED = ["sr3", "sr3-dream", "resshift", "resshift-dream", "dossr", "ccsr", "optimal-bc", "autoencoder"]


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_recipe_loads_and_round_trips(name: str) -> None:
    recipe = load_recipe(name)
    assert recipe.name == name
    again = recipe_from_mapping(recipe.to_dict())
    assert again.to_dict() == recipe.to_dict()


def test_list_recipes_contains_the_methods() -> None:
    assert set(SHIPPED) <= set(list_recipes())


def test_sr3_dream_differs_from_sr3_only_in_the_objective() -> None:
    sr3, dream = load_recipe("sr3").to_dict(), load_recipe("sr3-dream").to_dict()
    diff = {k for k in sr3 if sr3[k] != dream[k]}
    assert diff == {"name", "description", "objective"}
    assert dream["objective"]["dream_p"] == 1.0


def test_paper_settings_of_the_method_recipes() -> None:
    resshift = load_recipe("resshift")
    assert (resshift.process.kind, resshift.process.T, resshift.process.kappa, resshift.process.power) == ("resshift", 15, 2.0, 0.3)
    assert resshift.objective.prediction == "x0" and resshift.sampler.steps == 15
    dossr = load_recipe("dossr")
    assert (dossr.sampler.kind, dossr.sampler.steps, dossr.sampler.order) == ("dos_sde", 5, 3)
    ccsr = load_recipe("ccsr")
    assert ccsr.objective.nutl and ccsr.sampler.kind == "ccsr" and ccsr.sampler.steps == 15
    assert math.isclose(ccsr.sampler.t_max, 2 / 3, abs_tol=1e-3) and math.isclose(ccsr.sampler.t_min, 1 / 3, abs_tol=1e-3)
    bc = load_recipe("optimal-bc")
    assert (bc.process.T, bc.process.beta_start, bc.process.beta_end, bc.objective.loss) == (1000, 1e-4, 0.02, "l2")
    assert bc.bc is not None and (bc.bc.ref, bc.bc.candidates) == (300, 1000)


def test_unknown_key_names_the_closest_valid_key(tmp_path: Path) -> None:
    path = write(tmp_path, "extends: sr3\nsampler:\n  stpes: 10\n")
    with pytest.raises(RecipeError, match=r"sampler\.stpes.*did you mean 'steps'"):
        load_recipe(path)


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "extends: sr3\nproces:\n  T: 10\n")
    with pytest.raises(RecipeError, match="did you mean 'process'"):
        load_recipe(path)


@pytest.mark.parametrize(
    "body, field",
    [
        ("sampler:\n  steps: 0\n", "steps"),
        ("sampler:\n  steps: ten\n", "sampler.steps"),
        ("sampler:\n  order: 4\n", "order"),
        ("sampler:\n  kind: dpm\n", "sampler.kind"),
        ("process:\n  T: 2.5\n", "process.T"),
        ("process:\n  beta_start: 0.5\n  beta_end: 0.1\n", "beta_start"),
        ("objective:\n  loss: huber\n", "objective.loss"),
        ("objective:\n  dream_p: -1\n", "dream_p"),
        ("data:\n  crop: 2\n", "crop"),
        ("train:\n  lr: 0\n", "lr"),
        ("scale: 5\n", "scale"),
        ("network:\n  base_channels: -3\n", "network"),
        ("network:\n  kind: transformer\n", "network.kind"),
        ("data: [1, 2]\n", "data"),
    ],
)
def test_bad_values_fail_naming_the_field(tmp_path: Path, body: str, field: str) -> None:
    path = write(tmp_path, "extends: sr3\n" + body)
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        load_recipe(path)


def test_dream_p_accepts_inf(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, "extends: sr3\nobjective:\n  dream_p: inf\n"))
    assert math.isinf(recipe.objective.dream_p)


def test_invalid_yaml_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(write(tmp_path, "name: [unclosed\n"))


def test_unknown_method_suggests_a_recipe() -> None:
    with pytest.raises(UsageError, match="did you mean 'dossr'"):
        load_recipe("dosr")


def test_missing_recipe_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml")


def test_overrides_are_validated_like_yaml() -> None:
    recipe = load_recipe("dossr").with_overrides(sampler={"steps": 1, "order": 1})
    assert (recipe.sampler.steps, recipe.sampler.order) == (1, 1)
    with pytest.raises(RecipeError, match="steps"):
        load_recipe("dossr").with_overrides(sampler={"steps": 0})


def test_sampler_spacing_reaches_the_engine_and_is_refused_where_meaningless() -> None:
    from srkit.diffusion.build import build_sampler

    ddim = load_recipe("optimal-bc").with_overrides(sampler={"spacing": "logsnr"})
    assert build_sampler(ddim.sampler).options["spacing"] == "logsnr"
    assert "spacing" not in build_sampler(load_recipe("optimal-bc").sampler).options
    with pytest.raises(UsageError, match="spacing"):
        build_sampler(load_recipe("sr3").with_overrides(sampler={"spacing": "uniform"}).sampler)


def test_resshift_eta_1_rule_reaches_the_process() -> None:
    from srkit.diffusion.build import build_process

    official = load_recipe("resshift").with_overrides(process={"eta_1_rule": "official", "kappa": 1.0})
    paper = load_recipe("resshift").with_overrides(process={"kappa": 1.0})
    import numpy as np

    assert not np.allclose(build_process(official.process).etas, build_process(paper.process).etas)


BUILTIN = ["sr3", "sr3-dream", "resshift", "dossr", "ccsr"]


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_recipes_share_one_cpu_sized_network(name: str) -> None:
    recipe = load_recipe(f"builtin/{name}")
    assert recipe.name == name
    # same weights (so --init works and the comparison is fair); x0 models add the condition skip
    assert dataclasses.replace(recipe.network, condition_skip=False) == load_recipe("builtin/sr3").network
    assert recipe.network.condition_skip == (recipe.objective.prediction == "x0")
    assert recipe.process.kind == load_recipe(name).process.kind
    paper = load_recipe(name).objective
    if name in ("dossr", "ccsr"):  # they predict x0: well-conditioned next to t1 and at T, see their YAML
        paper = dataclasses.replace(paper, prediction="x0")
    if name == "dossr":  # and an LPIPS term on the x0 estimate, DREAM and sampler roll-out, see its YAML
        paper = dataclasses.replace(paper, perceptual="lpips-alex", perceptual_weight=0.5, dream_p=1.0, rollout_p=0.75)
    assert recipe.objective == paper


def test_builtin_sr3_and_sr3_dream_differ_only_in_dream() -> None:
    sr3, dream = load_recipe("builtin/sr3").to_dict(), load_recipe("builtin/sr3-dream").to_dict()
    assert {k for k in sr3 if sr3[k] != dream[k]} == {"name", "description", "objective"}


def test_builtin_priors_match_the_fine_tuned_schedules() -> None:
    sr3 = load_recipe("builtin/sr3").process
    for name in ("dossr", "ccsr"):
        other = load_recipe(f"builtin/{name}").process
        assert (other.T, other.beta_schedule, other.beta_start, other.beta_end) == (sr3.T, sr3.beta_schedule, sr3.beta_start, sr3.beta_end)


@pytest.mark.parametrize("section, text, near", [
    ("data:\n  degradation: realesrgn\n", "unknown degradation preset 'realesrgn'", "did you mean 'realesrgan'"),
    ("sampler:\n  kind: dpm_solvr\n", "unknown sampler 'dpm_solvr'", "did you mean 'dpm_solver'"),
    ("network:\n  kind: unte\n", "unte", "did you mean 'unet'"),
    ("bc:\n  sampler: ddpm\n", "bc.sampler", "deterministic sampler"),
])
def test_load_recipe_refuses_misspelt_names_with_the_closest_one_before_any_network(tmp_path, monkeypatch, section, text, near):
    import srkit.nets.build

    monkeypatch.setattr(srkit.nets.build, "build_network", lambda *a, **k: pytest.fail("a network was built"))
    path = tmp_path / "bad.yaml"
    path.write_text("extends: builtin/sr3\nname: bad\n" + section)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert text in str(info.value) and near in str(info.value)


def test_a_preset_path_is_not_resolved_by_the_loader(tmp_path):
    recipe = load_recipe("sr3").with_overrides(data={"degradation": str(tmp_path / "mine.yaml")})
    assert recipe.data.degradation.endswith("mine.yaml")
