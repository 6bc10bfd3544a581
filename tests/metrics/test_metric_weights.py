"""Finding metric weights offline, and building with staged caches and no network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch

from srkit.errors import MetricUnavailable
from srkit.metrics.weights import (
    HfHubFile,
    TorchHubFile,
    locate_weights,
    offline_caches,
)

ALEX = TorchHubFile("checkpoints", "alexnet-owt-7be5be79.pth", "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth")
TIMM_TEST_VIT = HfHubFile("timm/test_vit.r160_in1k")


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_missing_file_message_names_file_url_and_the_library_cache(empty_caches):
    with pytest.raises(MetricUnavailable) as err:
        locate_weights((ALEX,), None)
    hub_checkpoints = empty_caches / "torch" / "hub" / "checkpoints"
    assert str(err.value) == (
        f"unavailable: alexnet-owt-7be5be79.pth missing — download {ALEX.url} to {hub_checkpoints}/ or to --weights-dir"
    )


def test_missing_hf_file_message_gives_the_download_command(empty_caches):
    with pytest.raises(MetricUnavailable, match=r"timm/test_vit.r160_in1k/model.safetensors missing — run `hf download"):
        locate_weights((TIMM_TEST_VIT,), None)


def test_every_missing_file_is_listed(empty_caches):
    other = TorchHubFile("pyiqa", "DISTS_weights-f5e65c96.pth", "https://example.invalid/DISTS_weights-f5e65c96.pth")
    with pytest.raises(MetricUnavailable, match=r"alexnet-owt-7be5be79.pth missing .*; DISTS_weights-f5e65c96.pth missing"):
        locate_weights((ALEX, other), None)


def test_file_in_the_torch_hub_cache_follows_torch_home(empty_caches):
    cached = touch(empty_caches / "torch" / "hub" / "checkpoints" / ALEX.filename)
    assert locate_weights((ALEX,), None) == {ALEX: cached}


@pytest.mark.parametrize("layout", ["flat", "cache"])
def test_weights_dir_is_searched_first_flat_or_in_cache_layout(empty_caches, layout):
    touch(empty_caches / "torch" / "hub" / "checkpoints" / ALEX.filename)
    weights_dir = empty_caches / "weights"
    inside = touch(weights_dir / ALEX.filename if layout == "flat" else weights_dir / "checkpoints" / ALEX.filename)
    assert locate_weights((ALEX,), weights_dir) == {ALEX: inside}


def test_hf_file_is_found_in_the_hub_layout_of_hf_home_and_weights_dir(empty_caches):
    in_home = touch(empty_caches / "hf" / "hub" / TIMM_TEST_VIT.repo_folder / "snapshots" / "abc" / "model.safetensors")
    assert locate_weights((TIMM_TEST_VIT,), None) == {TIMM_TEST_VIT: in_home}
    weights_dir = empty_caches / "weights"
    in_dir = touch(weights_dir / TIMM_TEST_VIT.repo_folder / "snapshots" / "def" / "model.safetensors")
    assert locate_weights((TIMM_TEST_VIT,), weights_dir) == {TIMM_TEST_VIT: in_dir}


def test_staged_hf_cache_serves_timm_weights_offline(empty_caches):
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    state = {k: torch.full_like(v, 0.25) for k, v in timm.create_model("test_vit").state_dict().items()}
    weights_dir = empty_caches / "weights"
    path = weights_dir / TIMM_TEST_VIT.repo_folder / "snapshots" / "abc" / "model.safetensors"
    path.parent.mkdir(parents=True)
    save_file(state, str(path))
    with offline_caches("test_vit", locate_weights((TIMM_TEST_VIT,), weights_dir)):
        model = timm.create_model("test_vit", pretrained=True)
    assert all(torch.all(v == 0.25) for v in model.state_dict().values() if v.is_floating_point())


def test_a_download_srkit_does_not_list_becomes_unavailable_instead_of_a_connection(empty_caches):
    torchvision = pytest.importorskip("torchvision")
    refused = r"alexnet needs a file srkit does not list \(it tried to reach download.pytorch.org\)"
    with pytest.raises(MetricUnavailable, match=refused), offline_caches("alexnet", {}):
        torchvision.models.alexnet(weights="IMAGENET1K_V1")
    assert not (empty_caches / "torch").exists()  # nothing written to the user's cache


def test_offline_caches_restore_sockets_torch_hub_dir_and_environment(empty_caches, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    saved = (socket.getaddrinfo, socket.socket.connect)
    hub_before = torch.hub.get_dir()
    with offline_caches("nothing", {}):
        assert torch.hub.get_dir() != hub_before
        with pytest.raises(OSError):
            socket.getaddrinfo("example.com", 443)
    assert (socket.getaddrinfo, socket.socket.connect) == saved
    assert torch.hub.get_dir() == hub_before
    assert "HF_HUB_OFFLINE" not in __import__("os").environ


def test_library_prints_during_a_build_go_to_stderr(empty_caches, capsys):
    with offline_caches("chatty", {}):
        print("Loading pretrained model ...")
    captured = capsys.readouterr()
    assert captured.out == "" and "Loading pretrained model" in captured.err
