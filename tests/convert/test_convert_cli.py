"""`srkit convert` end to end: official-style files in, a checkpoint that load_released runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from srkit.io.checkpoints import load_checkpoint
from srkit.released.registry import load_released
from tests.cli.cli_helpers import assert_one_line_error, run
from tests.released.conftest import write_official_files


def test_convert_then_load_and_super_resolve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unet, vq = write_official_files(tmp_path)
    out = tmp_path / "resshift-v3.safetensors"
    code, stdout, _ = run(capsys, "convert", "--from", "resshift-v3", vq, unet, "-o", out, "--json")
    assert code == 0
    result = json.loads(stdout)
    assert result["family"] == "resshift-v3" and result["tensors"] == 737
    tensors, meta = load_checkpoint(out)
    pipe = load_released(tensors, meta, device="cpu", precision="fp32")
    assert pipe.model_id == result["model_id"] and pipe.scale == 4
    lr = torch.rand(1, 3, 12, 20, generator=torch.Generator().manual_seed(1))
    sr, nfe = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(2))
    assert sr.shape == (1, 3, 48, 80) and nfe == 4
    assert 0.0 <= float(sr.min()) and float(sr.max()) <= 1.0
    again, _ = pipe.super_resolve(lr, generator=torch.Generator().manual_seed(2))
    assert torch.equal(sr, again)  # seeded: reproducible


def test_convert_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unet, vq = write_official_files(tmp_path)
    out = tmp_path / "o.safetensors"
    code, _, err = run(capsys, "convert", "--from", "resshift-v3", vq, "-o", out, "--quiet")
    assert_one_line_error(code, err, 2, "no ResShift diffusion (Swin-UNet) checkpoint")
    out.write_bytes(b"x")
    code, _, err = run(capsys, "convert", "--from", "resshift-v3", vq, unet, "-o", out, "--quiet")
    assert_one_line_error(code, err, 2, "exists; pass --overwrite")
    assert out.read_bytes() == b"x"


def test_help_names_every_family_and_its_sources(capsys: pytest.CaptureFixture[str]) -> None:
    from srkit.cli.convert import FROM_NAMES
    from srkit.released.registry import FAMILIES

    assert set(FROM_NAMES) == set(FAMILIES)
    code, stdout, _ = run(capsys, "convert", "--help")
    text = " ".join(stdout.split())
    assert code == 0 and all(name in text for name in FROM_NAMES) and "text_encoder" in text


def test_set_help_names_every_setting_of_the_sd_pipelines() -> None:
    from srkit.cli.convert import SET_HELP
    from srkit.released.sd.families import PIPELINES

    assert all(name in SET_HELP for cls in PIPELINES.values() for name in cls.settings())
