"""Preset loading: the built-in files hold the published numbers, and bad files fail with a named field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from srkit.degrade.preset import DegradationPreset, list_presets, load_preset, preset_to_mapping
from srkit.errors import RecipeError

SIZES_7_TO_21 = (7, 9, 11, 13, 15, 17, 19, 21)
KERNEL_PROB = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)


def test_builtin_presets_are_listed_and_load() -> None:
    assert list_presets() == ["bicubic", "realesrgan", "resshift", "stablesr"]
    for name in list_presets():
        assert isinstance(load_preset(name), DegradationPreset)


def test_realesrgan_preset_holds_train_realesrgan_x4plus_numbers() -> None:
    p = load_preset("realesrgan")
    assert p.usm_sharpen and p.round_output and p.no_degradation_prob == 0
    b1, b2 = p.first.blur, p.second.blur
    assert b1.kernel_sizes == SIZES_7_TO_21 and b1.kernel_prob == KERNEL_PROB and b1.sinc_prob == 0.1
    assert (b1.blur_sigma, b1.betag_range, b1.betap_range) == ((0.2, 3.0), (0.5, 4.0), (1.0, 2.0))
    assert b1.sinc_omega_small[0] * math.pi == pytest.approx(math.pi / 3) and b1.sinc_omega_large == (0.2, 1.0)
    assert (p.first.resize_prob, p.first.resize_range) == ((0.2, 0.7, 0.1), (0.15, 1.5))
    assert (p.first.noise_range, p.first.poisson_scale_range, p.first.gray_noise_prob) == ((1, 30), (0.05, 3), 0.4)
    assert p.first.jpeg_range == (30, 95)
    assert (p.second.prob, p.second.blur_prob, b2.blur_sigma, b2.sinc_prob) == (1.0, 0.8, (0.2, 1.5), 0.1)
    assert (p.second.resize_prob, p.second.resize_range) == ((0.3, 0.4, 0.3), (0.3, 1.2))
    assert (p.second.noise_range, p.second.poisson_scale_range) == ((1, 25), (0.05, 2.5))
    assert (p.final.sinc_prob, p.final.sinc_kernel_sizes, p.final.jpeg_range, p.final.jpeg_first_prob) == (
        0.8,
        SIZES_7_TO_21,
        (30, 95),
        0.5,
    )


def test_resshift_preset_skips_second_stage_half_the_time_with_its_kernel_ranges() -> None:
    p = load_preset("resshift")
    assert p.second.prob == 0.5 and not p.usm_sharpen
    assert p.first.blur.kernel_sizes == tuple(range(3, 21, 2))
    assert p.second.blur.kernel_sizes == tuple(range(3, 15, 2)) == p.final.sinc_kernel_sizes


def test_stablesr_preset_is_the_milder_set() -> None:
    p = load_preset("stablesr")
    assert (p.first.blur.blur_sigma, p.first.noise_range, p.first.jpeg_range) == ((0.2, 1.5), (1, 15), (60, 95))
    assert (p.second.blur_prob, p.second.resize_range, p.final.jpeg_range) == (0.5, (0.6, 1.2), (60, 100))
    assert p.usm_sharpen and not p.round_output and p.no_degradation_prob == 0.01


def test_preset_round_trips_through_yaml(tmp_path: Path) -> None:
    original = load_preset("resshift")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({**preset_to_mapping(original), "name": "mine"}))
    assert load_preset(path) == DegradationPreset(**{**original.__dict__, "name": "mine"})


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_key_names_the_closest_valid_key(tmp_path: Path) -> None:
    data = preset_to_mapping(load_preset("realesrgan"))
    data["first"]["noise_rang"] = [1, 2]
    with pytest.raises(RecipeError, match=r"first\.noise_rang.*did you mean 'noise_range'"):
        load_preset(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("second", "blur_prob"), 1.5, "second.blur_prob"),
        (("first", "blur", "kernel_sizes"), [7, 8], "first.blur.kernel_sizes"),
        (("final", "jpeg_range"), [30, 101], "final.jpeg_range"),
        (("first", "resize_range"), [1.1, 1.5], "first.resize_range"),
        (("first", "blur", "kernel_prob"), [1, 1], "first.blur.kernel_prob"),
    ],
)
def test_out_of_range_value_names_its_field(tmp_path: Path, path: tuple[str, ...], value: object, field: str) -> None:
    data = preset_to_mapping(load_preset("realesrgan"))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(RecipeError, match=field.replace(".", r"\.")):
        load_preset(_write(tmp_path, data))


def test_unknown_builtin_name_suggests_the_closest() -> None:
    with pytest.raises(RecipeError, match="did you mean 'resshift'"):
        load_preset("resshif")


def test_bicubic_preset_refuses_stages(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="first"):
        load_preset(_write(tmp_path, {"name": "b", "kind": "bicubic", "first": {}}))
