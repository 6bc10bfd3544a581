"""The learned-metric registry: its file list matches the libraries, and it builds offline."""

from __future__ import annotations

import numpy as np
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

from .images import degrade, real_like

pyiqa = pytest.importorskip("pyiqa")


def files_of(name: str) -> dict[str, object]:
    return {f.label: f for f in LEARNED_METRICS[name].files}


def test_pyiqa_file_names_and_urls_match_the_installed_pyiqa():
    from pyiqa.archs import (
        clip_model,
        dists_arch,
        maniqa_arch,
        musiq_arch,
        niqe_arch,
        topiq_arch,
    )

    expected = {
        "dists": dists_arch.default_model_urls["url"],
        "niqe": niqe_arch.default_model_urls["url"],
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


def test_backbone_files_match_torchvision_and_timm():
    import timm
    import torchvision

    assert files_of("lpips")["alexnet-owt-7be5be79.pth"].url == torchvision.models.AlexNet_Weights.IMAGENET1K_V1.url
    assert files_of("lpips_vgg")["vgg16-397923af.pth"].url == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
    assert files_of("dists")["vgg16-397923af.pth"].url == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
    hf = {name: [f.repo_id for f in m.files if isinstance(f, HfHubFile)] for name, m in LEARNED_METRICS.items()}
    assert hf["maniqa"] == [timm.models.get_pretrained_cfg("vit_base_patch8_224").hf_hub_id]
    assert hf["topiq"] == hf["topiq_fr"] == [timm.models.get_pretrained_cfg("resnet50").hf_hub_id]


def test_every_learned_metric_is_unavailable_with_empty_caches_and_nothing_is_written(empty_caches):
    for name in LEARNED_METRICS:
        with pytest.raises(MetricUnavailable, match=r"^unavailable: .+ missing — "):
            load_learned_metric(name)
    assert sorted(p.name for p in empty_caches.iterdir()) == []  # no cache folder was even created


def test_niqe_builds_offline_from_weights_dir_and_equals_pyiqa_with_the_same_parameters(empty_caches):
    scipy_io = pytest.importorskip("scipy.io")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((36, 36))
    params = {"mu_prisparam": rng.standard_normal((1, 36)), "cov_prisparam": a @ a.T / 36 + np.eye(36)}
    weights_dir = empty_caches / "weights"
    weights_dir.mkdir()
    scipy_io.savemat(weights_dir / "niqe_modelparameters.mat", params)
    img = degrade(real_like(100, 112)).float()

    assert check_weights("niqe", weights_dir)
    ours = learned_score("niqe", img, weights_dir=weights_dir)
    reference = pyiqa.create_metric(
        "niqe", device="cpu", pretrained_model_path=str(weights_dir / "niqe_modelparameters.mat")
    )(img).flatten()
    torch.testing.assert_close(ours, reference.double(), atol=1e-6, rtol=0)
    assert load_learned_metric("niqe", weights_dir, "cpu") is load_learned_metric("niqe", weights_dir, "cpu")


def test_niqe_on_images_smaller_than_its_block_is_an_input_error(empty_caches):
    with pytest.raises(InputError, match="96x96"):
        learned_score("niqe", torch.rand(1, 3, 64, 200))


@pytest.mark.slow
def test_lpips_builds_offline_from_a_weights_dir_alexnet(empty_caches):
    import lpips
    import torchvision

    weights_dir = empty_caches / "weights"
    weights_dir.mkdir()
    alexnet = torchvision.models.alexnet()  # random trunk: proves loading, not LPIPS quality
    torch.save(alexnet.state_dict(), weights_dir / "alexnet-owt-7be5be79.pth")
    hr = real_like(64, 64).float()
    sr = degrade(hr.double()).float()
    ours = learned_score("lpips", sr, hr, weights_dir=weights_dir)
    reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    slices = [reference.net.slice1, reference.net.slice2, reference.net.slice3, reference.net.slice4, reference.net.slice5]
    for block in slices:  # lpips names each trunk layer by its index in alexnet.features
        for index, layer in block.named_children():
            layer.load_state_dict(alexnet.features[int(index)].state_dict())
    with torch.no_grad():
        expected = reference(sr, hr, normalize=True).flatten().double()
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)
