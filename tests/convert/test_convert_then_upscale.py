"""`srkit convert` then `srkit upscale --weights`: a converted released model runs through the ordinary upscale path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.io.images import Image, read_image, write_image
from tests.cli.cli_helpers import run
from tests.released.conftest import write_official_files

diffusers = pytest.importorskip("diffusers")


def _photo(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    rgb = np.clip(np.linspace(0, 1, 14 * 18 * 3).reshape(14, 18, 3) + 0.05 * rng.standard_normal((14, 18, 3)), 0, 1)
    path = folder / "photo.png"
    write_image(path, Image(rgb=rgb.astype(np.float32), alpha=None, bit_depth=8, mode="rgb"))
    return path


def _upscale(capsys: pytest.CaptureFixture[str], weights: Path, photos: Path, out: Path) -> dict:
    code, stdout, err = run(capsys, "upscale", photos, out, "--weights", weights, "--device", "cpu", "--json", "--quiet")
    assert code == 0, err
    return json.loads(stdout)


def test_converted_resshift_runs_with_upscale_weights_and_seed_reproduces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unet, vq = write_official_files(tmp_path)
    weights = tmp_path / "resshift-v3.safetensors"
    code, _, err = run(capsys, "convert", "--from", "resshift-v3", unet, vq, "-o", weights, "--quiet")
    assert code == 0, err
    photos = _photo(tmp_path / "in").parent
    report = _upscale(capsys, weights, photos, tmp_path / "a")
    out = read_image(tmp_path / "a" / "photo.png")
    assert out.rgb.shape == (56, 72, 3)
    assert report["images"][0]["nfe"] == 4
    _upscale(capsys, weights, photos, tmp_path / "b")
    np.testing.assert_array_equal(read_image(tmp_path / "b" / "photo.png").rgb, out.rgb)  # same seed, same output


def test_sampler_options_are_refused_for_a_converted_model_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unet, vq = write_official_files(tmp_path)
    weights = tmp_path / "resshift-v3.safetensors"
    assert run(capsys, "convert", "--from", "resshift-v3", unet, vq, "-o", weights, "--quiet")[0] == 0
    photos = _photo(tmp_path / "in").parent
    code, _, err = run(capsys, "upscale", photos, tmp_path / "o", "--weights", weights, "--steps", "9", "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--steps" in err
    assert not (tmp_path / "o" / "photo.png").exists()


def test_converted_dossr_runs_with_upscale_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.torch import save_file

    from tests.released.sd.synthetic import tiny_controlldm

    torch.set_num_threads(1)
    source = tmp_path / "dossr_onestep.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_controlldm(dossr=True).items()}, source)
    weights = tmp_path / "dossr.safetensors"
    code, _, err = run(capsys, "convert", "--from", "dossr-onestep", source, "-o", weights, "--quiet")
    assert code == 0, err
    photos = _photo(tmp_path / "in").parent
    report = _upscale(capsys, weights, photos, tmp_path / "a")
    assert read_image(tmp_path / "a" / "photo.png").rgb.shape == (56, 72, 3)
    assert report["images"][0]["nfe"] == 1


def test_the_licence_of_a_converted_model_is_shown_by_upscale_and_listed_by_recipes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unet, vq = write_official_files(tmp_path)
    weights = tmp_path / "resshift-v3.safetensors"
    assert run(capsys, "convert", "--from", "resshift-v3", unet, vq, "-o", weights, "--quiet")[0] == 0
    photos = _photo(tmp_path / "in").parent
    code, stdout, err = run(capsys, "upscale", photos, tmp_path / "o", "--weights", weights, "--json")
    assert code == 0 and "licence S-Lab License 1.0 (non-commercial)" in err
    assert "S-Lab" in json.loads(stdout)["licence"]
    code, stdout, _ = run(capsys, "recipes", "--json")
    released = {row["name"]: row for row in json.loads(stdout)["released"]}
    assert set(released) >= {"resshift-v1", "resshift-v2", "resshift-v3", "resshift-bicsr", "dossr", "dossr-onestep", "ccsr-v1", "ccsr-v2"}
    assert "non-commercial" in released["resshift-v3"]["licence"]


def _with_procedure(path: Path, **procedure: object) -> None:
    """Rewrite a converted file's ``procedure`` (e.g. a smaller process size, to keep the test fast)."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(path, "pt") as f:
        metadata = dict(f.metadata())
    config = json.loads(metadata["config"])
    config["procedure"] = {**config["procedure"], **procedure}
    metadata["config"] = json.dumps(config)
    save_file(load_file(path), path, metadata=metadata)


@pytest.mark.parametrize("family", ["ccsr-v1", "ccsr-v2"])
def test_converted_ccsr_with_the_scripts_sizes_runs_with_upscale_weights(family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CCSR scripts resize the image around the sampler; `upscale` runs them whole and tiled, and --seed reproduces."""
    from safetensors.torch import save_file

    from tests.released.sd.synthetic import tiny_ccsr_v2, tiny_controlldm

    torch.set_num_threads(1)
    state = tiny_controlldm(dossr=False) if family == "ccsr-v1" else tiny_ccsr_v2()
    source = tmp_path / "source.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, source)
    weights = tmp_path / f"{family}.safetensors"
    code, _, err = run(capsys, "convert", "--from", family, source, "-o", weights, "--quiet")
    assert code == 0, err
    _with_procedure(weights, process_size=64, **({"t_min": 0.6} if family == "ccsr-v1" else {}))
    photos = _photo(tmp_path / "in").parent
    report = _upscale(capsys, weights, photos, tmp_path / "a")
    out = read_image(tmp_path / "a" / "photo.png").rgb
    assert out.shape == (56, 72, 3)
    assert report["images"][0]["nfe"] == {"ccsr-v1": 5, "ccsr-v2": 2}[family]
    _upscale(capsys, weights, photos, tmp_path / "b")
    np.testing.assert_array_equal(read_image(tmp_path / "b" / "photo.png").rgb, out)
    code, _, err = run(capsys, "upscale", photos, tmp_path / "c", "--weights", weights, "--device", "cpu", "--tile", "48",
                       "--tile-overlap", "16", "--quiet")
    assert code == 0, err
    assert read_image(tmp_path / "c" / "photo.png").rgb.shape == (56, 72, 3)


def test_set_changes_the_stored_procedure_and_bad_settings_are_refused_before_reading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`srkit convert --set`: CCSR v2's tiled diffusion and process size in the file; unknown names, wrong types,
    impossible values and ResShift (no settings) refused in one line, nothing written."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from tests.released.sd.synthetic import tiny_ccsr_v2

    torch.set_num_threads(1)
    source = tmp_path / "source.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_ccsr_v2().items()}, source)
    weights = tmp_path / "ccsr-v2.safetensors"
    code, stdout, err = run(capsys, "convert", "--from", "ccsr-v2", source, "-o", weights, "--set", "process_size=0",
                            "--set", "tile_diffusion=32", "--set", "tile_stride=16", "--json")
    assert code == 0, err
    assert json.loads(stdout)["settings"] == {"process_size": 0, "tile_diffusion": 32, "tile_stride": 16}
    with safe_open(weights, "pt") as f:
        procedure = json.loads(f.metadata()["config"])["procedure"]
    assert procedure["tile_diffusion"] == 32 and procedure["process_size"] == 0 and procedure["guidance"] == 4.5
    photos = _photo(tmp_path / "in").parent
    report = _upscale(capsys, weights, photos, tmp_path / "a")  # 14x18 -> latent 28x36: 16-px tiles every 8
    assert report["images"][0]["nfe"] == 2 and report["images"][0]["tiles"] == 1  # --tile auto: the pipeline tiles itself
    assert read_image(tmp_path / "a" / "photo.png").rgb.shape == (56, 72, 3)
    for bad, message in (("process_sise=0", "did you mean 'process_size'"), ("tile_stride=x", "must be an integer"),
                         ("steps=0", "at least 1 step"), ("tile_diffusion", "KEY=VALUE")):
        out = tmp_path / "bad.safetensors"
        code, _, err = run(capsys, "convert", "--from", "ccsr-v2", source, "-o", out, "--set", bad)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and not out.exists()
    unet, vq = write_official_files(tmp_path)
    code, _, err = run(capsys, "convert", "--from", "resshift-v3", unet, vq, "-o", tmp_path / "r.safetensors", "--set", "steps=2")
    assert code == 2 and "no inference settings" in err and not (tmp_path / "r.safetensors").exists()
