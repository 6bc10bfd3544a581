"""``srkit train`` through the real CLI: options reach the recipe, JSON result, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srkit.cli.app import main

TINY_RECIPE = """\
extends: sr3
name: tiny-sr3
process: {T: 50}
sampler: {steps: 4}
network: {kind: unet, base_channels: 16, channel_mult: [1, 2, 2], num_res_blocks: 1, attention_resolutions: [4],
          num_heads: 2, head_channels: null}
train: {warmup_steps: 0}
"""


@pytest.fixture
def tiny_recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE)
    return path


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0)


def test_cli_trains_with_overrides_and_prints_json(tiny_recipe_file: Path, photos: Path, val_photos: Path,
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = run_cli(["train", "--recipe", str(tiny_recipe_file), "--data", str(photos), "--val", str(val_photos),
                    "--out", str(out), "--steps", "2", "--batch-size", "2", "--crop", "32", "--log-every", "1",
                    "--val-every", "2", "--seed", "3", "--device", "cpu", "--json", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["step"] == 2 and summary["final"] == str(out / "final.safetensors")
    assert set(summary["validation"]) == {"val_psnr", "val_ssim"}
    import yaml

    stored = yaml.safe_load((out / "recipe.yaml").read_text())
    assert stored["train"]["steps"] == 2 and stored["train"]["seed"] == 3 and stored["data"]["crop"] == 32
    assert (out / "samples" / "step_0000002.png").is_file()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--stage", "2"], "no stage 2"),
        (["--precision", "fp64"], "precision"),
        (["--crop", "30"], "multiple"),
        (["--precision", "fp16"], "needs CUDA"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(extra: list[str], fragment: str, tiny_recipe_file: Path, photos: Path,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli(["train", "--recipe", str(tiny_recipe_file), "--data", str(photos), "--out", str(tmp_path / "r"),
                    "--device", "cpu", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("srkit: error:") and fragment in err[0], err
