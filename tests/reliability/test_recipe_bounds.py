"""Item 3 of issue 21: recipe numbers bounded, inf/NaN refused, deep YAML one line, network memory checked first."""

from __future__ import annotations

from pathlib import Path

import pytest

from srkit.config_schema import BOUNDS, MAX_YAML_DEPTH
from srkit.errors import RecipeError
from srkit.io import resources
from srkit.recipes import load_recipe
from tests.cli.cli_helpers import assert_one_line_error, run


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("sampler: {steps: 1.0e+12}", "sampler.steps: must lie in [1, 100000], got 1e+12"),
        ("sampler: {steps: 1e12}", "sampler.steps: expected an integer, got '1e12'"),
        ("train: {lr: 1e400}", "train.lr: must be a finite number, got inf"),
        ("train: {lr: .nan}", "train.lr: must be a finite number, got nan"),
        ("train: {lr: 50.0}", "train.lr: must lie in [1e-12, 10], got 50"),
        ("network: {kind: unet, base_channels: 100000}", "network.base_channels: must lie in [1, 4096], got 100000"),
        ("network: {kind: unet, channel_mult: [1, 2, 1000]}", "network.channel_mult[2]: must lie in [1, 64], got 1000"),
        ("process: {T: .inf}", "process.T: expected an integer, got inf"),
        ("train: {steps: 99999999999999999999999}", "train.steps: must lie in [1, 1e+09]"),
    ],
)
def test_train_refuses_out_of_range_recipe_numbers_before_the_run_folder(capsys, tmp_path: Path, images: Path, body: str, fragment: str) -> None:
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(f"extends: builtin/sr3\n{body}\n")
    code, _, err = run(capsys, "train", "--recipe", recipe, "--data", images, "--out", tmp_path / "run", "--device", "cpu")
    assert_one_line_error(code, err, 2, fragment)
    assert not (tmp_path / "run").exists()


def test_dream_p_may_still_be_infinite() -> None:
    assert BOUNDS["objective.dream_p"][1] == float("inf")
    recipe = load_recipe("sr3").with_overrides(objective={"dream_p": "inf"})
    assert recipe.objective.dream_p == float("inf")


def test_every_shipped_recipe_is_within_bounds() -> None:
    from srkit.recipes import list_recipes

    assert [load_recipe(name).name for name in list_recipes()]


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 5000])
def test_deeply_nested_yaml_is_one_line_exit_2(capsys, tmp_path: Path, images: Path, depth: int) -> None:
    recipe = tmp_path / "deep.yaml"
    recipe.write_text("a: " + "[" * depth + "]" * depth + "\n")
    code, _, err = run(capsys, "train", "--recipe", recipe, "--data", images, "--out", tmp_path / "run", "--device", "cpu")
    assert_one_line_error(code, err, 2, f"nests deeper than {MAX_YAML_DEPTH} levels")
    assert "RecursionError" not in err and not (tmp_path / "run").exists()


def test_a_network_too_big_for_memory_is_refused_before_allocation_naming_both_sizes(capsys, tmp_path: Path, images: Path,
                                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 2_000_000)  # 2 MB: less than builtin/sr3's 10 MB
    code, _, err = run(capsys, "train", "--recipe", "builtin/sr3", "--data", images, "--out", tmp_path / "run", "--device", "cpu")
    assert_one_line_error(code, err, 1, "needs about 0.0101 GB for its weights alone, but only 0.002 GB of memory is available")
    assert not (tmp_path / "run").exists()


def test_the_estimate_counts_exactly_what_is_built() -> None:
    from srkit.nets.build import _BUILDERS, build_network

    cfg = load_recipe("builtin/sr3").network
    net = build_network(cfg)
    assert resources.module_numel(_BUILDERS[type(cfg)], cfg) == sum(t.numel() for t in (*net.parameters(), *net.buffers()))
    with pytest.raises(RecipeError):  # a recipe error stays a recipe error (exit 2), whatever the memory
        load_recipe("builtin/sr3").with_overrides(network={"base_channels": 10**6})


def test_a_billion_laughs_yaml_is_refused_quickly(capsys, tmp_path: Path, images: Path) -> None:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 values through aliases
    recipe = tmp_path / "laughs.yaml"
    recipe.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "train", "--recipe", recipe, "--data", images, "--out", tmp_path / "run", "--device", "cpu")
    assert_one_line_error(code, err, 2, "expands to more than 100,000 values")
