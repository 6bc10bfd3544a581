"""The learned-metric registry: its file list matches the libraries, and it builds offline."""

from __future__ import annotations

import pytest
import torch

from srkit.errors import InputError, MetricUnavailable
from srkit.metrics.perceptual import (
    LEARNED_METRICS,
    check_weights,
    learned_score,
    load_learned_metric,
)
from srkit.metrics.weights import HfHubFile, TorchHubFile
from srkit.pretrained.sources import PackageFile

from ..pretrained.packages import hide_weight_packages, needs_weight_packages

from .images import degrade, real_like

pyiqa = pytest.importorskip("pyiqa")


def files_of(name: str) -> dict[str, object]:
    return {f.label: f for f in LEARNED_METRICS[name].files}


def test_pyiqa_file_names_and_urls_match_the_installed_pyiqa():
    from pyiqa.archs import (
        clip_model,
        maniqa_arch,
        musiq_arch,
        topiq_arch,
    )

    expected = {
        "musiq": musiq_arch.default_model_urls["koniq10k"],
        "maniqa": maniqa_arch.default_model_urls["koniq"],
        "topiq": topiq_arch.default_model_urls["cfanet_nr_koniq_res50"],
        "topiq_fr": topiq_arch.default_model_urls["cfanet_fr_kadid_res50"],
        "clipiqa": clip_model._MODELS["RN50"],
    }
    for name, url in expected.items():
        urls = [f.url for f in LEARNED_METRICS[name].files if isinstance(f, TorchHubFile)]
        assert url in urls, f"{name}: pyiqa loads {url}, srkit lists {urls}"


def test_pyiqa_metric_settings_match_the_listed_files():
    from pyiqa.default_model_configs import DEFAULT_CONFIGS

    assert DEFAULT_CONFIGS["musiq"]["metric_opts"]["pretrained"] == "koniq10k"
    assert DEFAULT_CONFIGS["maniqa"]["metric_opts"]["train_dataset"] == "koniq"
    assert DEFAULT_CONFIGS["topiq_nr"]["metric_opts"]["model_name"] == "cfanet_nr_koniq_res50"
    assert DEFAULT_CONFIGS["topiq_fr"]["metric_opts"]["model_name"] == "cfanet_fr_kadid_res50"
    assert DEFAULT_CONFIGS["clipiqa"]["metric_opts"].get("backbone", "RN50") == "RN50"


def test_timm_backbone_files_match_timm():
    import timm

    hf = {name: [f.repo_id for f in m.files if isinstance(f, HfHubFile)] for name, m in LEARNED_METRICS.items()}
    assert hf["maniqa"] == [timm.models.get_pretrained_cfg("vit_base_patch8_224").hf_hub_id]
    assert hf["topiq"] == hf["topiq_fr"] == [timm.models.get_pretrained_cfg("resnet50").hf_hub_id]


def test_package_metrics_need_only_package_files_and_pyiqa_metrics_only_hub_files():
    own = {name for name, m in LEARNED_METRICS.items() if m.library is None}
    assert own == {"lpips", "lpips_vgg", "dists", "niqe", "brisque"}
    for name, metric in LEARNED_METRICS.items():
        kinds = {type(f) for f in metric.files}
        assert kinds == {PackageFile} if name in own else not (kinds & {PackageFile}), name


def test_every_learned_metric_is_unavailable_without_caches_or_packages_and_nothing_is_written(empty_caches, monkeypatch):
    hide_weight_packages(monkeypatch)
    for name in LEARNED_METRICS:
        with pytest.raises(MetricUnavailable, match=r"^unavailable: .+ missing — "):
            load_learned_metric(name)
    assert sorted(p.name for p in empty_caches.iterdir()) == []  # no cache folder was even created


def test_missing_package_is_one_line_naming_the_file_and_the_pip_command(empty_caches, monkeypatch):
    hide_weight_packages(monkeypatch, "DISTS_pytorch")
    with pytest.raises(MetricUnavailable) as err:
        load_learned_metric("dists")
    assert str(err.value) == "unavailable: DISTS_pytorch/weights.pt missing — pip install --no-deps DISTS-pytorch==0.1"


@needs_weight_packages
def test_images_smaller_than_a_metric_can_score_are_an_input_error(empty_caches):
    with pytest.raises(InputError, match="96x96"):
        learned_score("niqe", torch.rand(1, 3, 64, 200))
    with pytest.raises(InputError, match="lpips needs images of at least 31x31"):
        learned_score("lpips", torch.rand(1, 3, 30, 40), torch.rand(1, 3, 30, 40))


@needs_weight_packages
def test_package_metrics_build_once_per_device_and_score_identical_images_as_zero():
    hr = real_like(64, 64).float()
    assert load_learned_metric("lpips") is load_learned_metric("lpips")
    assert learned_score("lpips", hr, hr).abs().max() < 1e-6
    assert learned_score("dists", hr, hr).abs().max() < 1e-6
    sr = degrade(hr.double()).float()
    assert learned_score("lpips", sr, hr).min() > 0.01 and learned_score("dists", sr, hr).min() > 0.01
