"""upscale(): folders of mixed images, layouts kept, report, seeds, skipping, BCs, sharding, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.infer.tiny_model import tiny_model

from srkit.errors import InputError, UsageError
from srkit.infer.bc import BoundaryCondition
from srkit.infer.distributed import Shard
from srkit.infer.seeding import cpu_generator
from srkit.infer.upscale import parse_tile, upscale
from srkit.io.images import read_image, write_image

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, pixels)


def mixed_folder(root: Path) -> dict[str, tuple[tuple[int, ...], str, int]]:
    """Inputs of several formats/layouts/depths; returns name -> (HxW, mode, bit depth)."""
    write(root / "a.png", (RNG.random((10, 13, 3)) * 255).astype(np.uint8))
    write(root / "sub" / "b.png", (RNG.random((12, 9, 4)) * 65535).astype(np.uint16))
    write(root / "sub" / "deep" / "c.jpg", (RNG.random((11, 8)) * 255).astype(np.uint8))
    write(root / "d.tif", (RNG.random((9, 12)) * 65535).astype(np.uint16))
    write(root / "e.webp", (RNG.random((8, 10, 4)) * 255).astype(np.uint8))
    return {
        "a.png": ((10, 13), "rgb", 8),
        "sub/b.png": ((12, 9), "rgba", 16),
        "sub/deep/c.jpg": ((11, 8), "grey", 8),
        "d.tif": ((9, 12), "grey", 16),
        "e.webp": ((8, 10), "rgba", 8),
    }


def test_a_mixed_folder_is_mirrored_with_every_layout_and_size_kept(tmp_path: Path, model) -> None:
    expected = mixed_folder(tmp_path / "in")
    report = upscale(tmp_path / "in", tmp_path / "out", model=model, seed=1, tile=None)
    assert report["written"] == len(expected) and report["skipped"] == 0
    for name, ((h, w), mode, depth) in expected.items():
        out = read_image(tmp_path / "out" / name)
        assert (out.height, out.width) == (4 * h, 4 * w), name
        assert (out.mode, out.bit_depth) == (mode, depth), name
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["method"] == model.recipe.name and saved["model_id"] == model.model_id and saved["seed"] == 1
    for entry in saved["images"]:
        assert entry["nfe"] == 3 and entry["seconds"] > 0 and isinstance(entry["seed"], int)
    assert len({e["seed"] for e in saved["images"]}) == len(expected)  # one derived seed per image


def test_the_same_seed_reproduces_outputs_and_another_seed_changes_them(tmp_path: Path, model) -> None:
    write(tmp_path / "in" / "x.png", (RNG.random((8, 8, 3)) * 255).astype(np.uint8))
    ddpm = model.recipe.sampler.with_overrides(sampler="ddpm", steps=3)  # stochastic at every step
    runs = {}
    for name, seed in (("a", 4), ("b", 4), ("c", 5)):
        upscale(tmp_path / "in", tmp_path / name, model=model, sampler_cfg=ddpm, seed=seed)
        runs[name] = read_image(tmp_path / name / "x.png").rgb
    np.testing.assert_array_equal(runs["a"], runs["b"])
    assert not np.array_equal(runs["a"], runs["c"])


def test_outputs_do_not_depend_on_batch_or_sharding(tmp_path: Path, model, monkeypatch) -> None:
    for i in range(3):
        write(tmp_path / "in" / f"{i}.png", (RNG.random((8, 8, 3)) * 255).astype(np.uint8))
    upscale(tmp_path / "in", tmp_path / "single", model=model, seed=2)
    monkeypatch.setattr("srkit.infer.upscale.barrier", lambda shard, device: None)
    upscale(tmp_path / "in", tmp_path / "shards", model=model, seed=2, shard=Shard(rank=1, world=2))
    merged = upscale(tmp_path / "in", tmp_path / "shards", model=model, seed=2, shard=Shard(rank=0, world=2))
    assert merged["written"] == 3 and merged["processes"] == 2
    assert not list((tmp_path / "shards").glob(".report.rank*"))
    for i in range(3):
        np.testing.assert_array_equal(read_image(tmp_path / "single" / f"{i}.png").rgb, read_image(tmp_path / "shards" / f"{i}.png").rgb)


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path: Path, model) -> None:
    write(tmp_path / "in" / "x.png", (RNG.random((8, 8, 3)) * 255).astype(np.uint8))
    upscale(tmp_path / "in", tmp_path / "out", model=model)
    again = upscale(tmp_path / "in", tmp_path / "out", model=model)
    assert again["images"][0]["status"] == "skipped" and again["written"] == 0
    forced = upscale(tmp_path / "in", tmp_path / "out", model=model, overwrite=True)
    assert forced["written"] == 1


def test_scale_and_ext_resize_and_convert_the_output(tmp_path: Path, model) -> None:
    write(tmp_path / "in" / "x.webp", (RNG.random((10, 6, 4)) * 255).astype(np.uint8))
    upscale(tmp_path / "in", tmp_path / "out", model=model, scale=2.5, ext="jpg", color_fix="wavelet")
    out = read_image(tmp_path / "out" / "x.jpg")
    assert (out.height, out.width, out.mode) == (25, 15, "rgb")  # JPEG has no alpha: dropped


@pytest.mark.parametrize("mode, tiles", [("mosaic", 1), ("tile", 4)])  # tile: 48x40 output in 32x32 BC tiles
def test_a_bc_with_a_deterministic_sampler_gives_identical_repeated_runs(tmp_path: Path, model, mode: str, tiles: int) -> None:
    write(tmp_path / "in" / "x.png", (RNG.random((12, 10, 3)) * 255).astype(np.uint8))
    bc = BoundaryCondition(torch.randn(3, 32, 32, generator=cpu_generator(0)), model.model_id, "tiny", "ddim", 3, mode=mode)
    first = upscale(tmp_path / "in", tmp_path / "a", model=model, bc=bc, seed=1)
    upscale(tmp_path / "in", tmp_path / "b", model=model, bc=bc, seed=99)  # the seed no longer matters
    assert first["images"][0]["tiles"] == tiles and first["bc"]["mode"] == mode
    np.testing.assert_array_equal(read_image(tmp_path / "a" / "x.png").rgb, read_image(tmp_path / "b" / "x.png").rgb)
    ddpm = model.recipe.sampler.with_overrides(sampler="ddpm", steps=3)
    with pytest.raises(UsageError, match="deterministic sampler"):
        upscale(tmp_path / "in", tmp_path / "c", model=model, bc=bc, sampler_cfg=ddpm)


def test_an_unreadable_image_fails_before_anything_is_written(tmp_path: Path, model) -> None:
    write(tmp_path / "in" / "good.png", (RNG.random((8, 8, 3)) * 255).astype(np.uint8))
    data = (tmp_path / "in" / "good.png").read_bytes()
    (tmp_path / "in" / "z_cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="z_cut.png"):
        upscale(tmp_path / "in", tmp_path / "out", model=model)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text,expected", [("auto", "auto"), ("0", None), ("none", None), ("256", 256), (None, None)])
def test_tile_option_values(text, expected) -> None:
    assert parse_tile(text) == expected


@pytest.mark.parametrize("text", ["big", "-5", "4", "12.5"])
def test_bad_tile_values_are_usage_errors_that_name_the_setting_not_a_flag(text: str) -> None:
    with pytest.raises(UsageError, match="^tile must be") as info:
        parse_tile(text)
    assert "--" not in str(info.value) and info.value.setting == "tile"


@pytest.mark.slow
def test_a_4000x3000_input_upscales_with_auto_tiles_within_memory(tmp_path: Path) -> None:
    """The full path (tile plan, blending buffers, 16000x12000 PNG write) with a cheap local network."""
    import resource

    from tests.infer.test_pipeline import LocalNet
    from tests.infer.tiny_model import tiny_recipe

    from srkit.model import model_from_modules

    write(tmp_path / "in" / "big.png", (RNG.random((3000, 4000, 3)) * 255).astype(np.uint8))
    model = model_from_modules(tiny_recipe(sampler={"steps": 1}), LocalNet().eval())
    report = upscale(tmp_path / "in", tmp_path / "out", model=model, tile="auto")
    assert report["images"][0]["output_size"] == [16000, 12000] and report["images"][0]["tiles"] > 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < 16 * 1024**3  # measured: ~7 GB
