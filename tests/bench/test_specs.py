"""``--methods`` row specs: parsing, one-line errors, and the sampler each row runs."""

from __future__ import annotations

import pytest

from srkit.bench.specs import MethodSpec, parse_method_spec, parse_method_specs, sampler_for
from srkit.errors import UsageError
from srkit.recipes import SamplerConfig, load_recipe


def test_method_spec_parses_every_field_and_maps_dashed_sampler_names() -> None:
    assert parse_method_spec("dossr") == MethodSpec("dossr", text="dossr")
    assert parse_method_spec("dossr:5") == MethodSpec("dossr", 5, text="dossr:5")
    assert parse_method_spec("sr3:20:dpm-solver:2") == MethodSpec("sr3", 20, "dpm_solver", 2, text="sr3:20:dpm-solver:2")
    assert parse_method_spec("dossr:3:dos-sde").sampler == "dos_sde"
    assert parse_method_spec("sr3:20:dpm-solver:2").label == "sr3:20:dpm-solver:2"
    assert parse_method_spec("sr3+bc") == MethodSpec("sr3", text="sr3+bc", bc=True)
    assert parse_method_spec("sr3:20:ddim+bc") == MethodSpec("sr3", 20, "ddim", text="sr3:20:ddim+bc", bc=True)


@pytest.mark.parametrize(
    "text, fragment",
    [("", "row spec"), ("dossr:", "row spec"), (":5", "row spec"), ("a:1:ddim:2:x", "row spec"),
     ("dossr:five", "STEPS"), ("dossr:0", "STEPS"), ("sr3:20:dpm-solver:4", "ORDER"), ("sr3:20:euler", "unknown sampler"),
     ("sr3:+bc", "row spec"), ("+bc", "row spec")],
)
def test_bad_method_spec_is_one_line_usage_error(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_method_spec(text)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_method_specs_split_on_spaces_and_commas_and_refuse_repeats() -> None:
    specs = parse_method_specs(["dossr:5 resshift:15", "sr3:100,ccsr"])
    assert [s.label for s in specs] == ["dossr:5", "resshift:15", "sr3:100", "ccsr"]
    with pytest.raises(UsageError, match="more than once"):
        parse_method_specs(["dossr:5", "dossr:5"])
    with pytest.raises(UsageError, match="no row"):
        parse_method_specs([" "])


def test_sampler_for_applies_overrides_and_resets_options_of_a_new_sampler() -> None:
    dossr = load_recipe("dossr").sampler  # dos_sde, 5 steps, order 3
    assert sampler_for(parse_method_spec("dossr"), dossr) == dossr
    assert sampler_for(parse_method_spec("dossr:2"), dossr) == SamplerConfig(kind="dos_sde", steps=2, order=3)
    switched = sampler_for(parse_method_spec("sr3:7:ddim"), load_recipe("sr3").sampler)
    assert (switched.kind, switched.steps, switched.order, switched.eta) == ("ddim", 7, 1, 0.0)
    assert sampler_for(parse_method_spec("sr3:20:dpm-solver:2"), load_recipe("sr3").sampler).order == 2
