"""Converted ResShift fixture models, built once per session through the real converter path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from srkit.convert.api import convert_checkpoint
from srkit.io.checkpoints import load_checkpoint
from srkit.released.registry import load_released
from tests.released.fixtures import load_case, one_thread  # noqa: F401 (autouse fixture)


def write_official_files(folder: Path) -> tuple[Path, Path]:
    """The fixture weights as official-style pickles: the UNet inside a ``state_dict`` wrapper with ``module.``."""
    unet, vq = folder / "resshift_unet.pth", folder / "autoencoder_vq_f4.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in load_case("resshift_unet").group("state.unet.").items()}}, unet)
    torch.save(load_case("resshift_vq").group("state.vq."), vq)
    return unet, vq


@pytest.fixture(scope="session")
def official_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_official_files(tmp_path_factory.mktemp("official"))


@pytest.fixture(scope="session")
def resshift_pipelines(official_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """run prefix -> pipeline: ``v3`` converted as resshift-v3, ``v12`` as resshift-v1 (strict, from files)."""
    out = tmp_path_factory.mktemp("converted")
    pipelines = {}
    for run, family in (("v3", "resshift-v3"), ("v12", "resshift-v1")):
        path = out / f"{family}.safetensors"
        convert_checkpoint(family, official_files, path)
        tensors, meta = load_checkpoint(path)
        pipelines[run] = load_released(tensors, meta, device="cpu", precision="fp32")
    return pipelines
