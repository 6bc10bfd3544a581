"""Bench datasets: LR inputs made once per image and preset, reproducibly; paired folders matched by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srkit.bench.dataset import check_lr_options, open_dataset
from srkit.errors import InputError, RecipeError, UsageError
from srkit.io.images import read_image, write_image


def test_bicubic_lr_is_the_8bit_antialiased_downscale_of_the_cropped_hr(hr_dir: Path) -> None:
    dataset = open_dataset(hr_dir)
    pair = dataset.pair(1, scale=4, degradation="bicubic")  # b.png is 29x26 -> cropped to 28x24
    original = read_image(hr_dir / "b.png").rgb
    assert pair.name == "b.png" and pair.hr.shape == (1, 3, 28, 24) and pair.lr.shape == (1, 3, 7, 6)
    hr = torch.from_numpy(original[:28, :24]).permute(2, 0, 1)[None]
    expected = torch.round(F.interpolate(hr, size=(7, 6), mode="bicubic", antialias=True).clamp(0, 1) * 255) / 255
    assert torch.equal(pair.hr, hr)
    assert torch.allclose(pair.lr, expected, atol=1e-6)


def test_degraded_lr_depends_on_name_and_lr_seed_only(hr_dir: Path) -> None:
    first = open_dataset(hr_dir).pair(2, scale=4, degradation="realesrgan")
    again = open_dataset(hr_dir, lr_seed=0).pair(2, scale=4, degradation="realesrgan")
    limited = open_dataset(hr_dir / "sub").pair(0, scale=4, degradation="realesrgan")  # same file, other root
    other_seed = open_dataset(hr_dir, lr_seed=1).pair(2, scale=4, degradation="realesrgan")
    assert torch.equal(first.lr, again.lr)
    assert not torch.equal(first.lr, other_seed.lr)
    assert limited.name == "c.png" and first.name == "sub/c.png"


def test_limit_keeps_the_first_images_in_sorted_order(hr_dir: Path) -> None:
    assert open_dataset(hr_dir, limit=2).names == ["a.png", "b.png"]
    assert open_dataset(hr_dir).names == ["a.png", "b.png", "sub/c.png"]


def test_images_inside_the_results_folder_are_not_data(hr_dir: Path) -> None:
    assert open_dataset(hr_dir, exclude=hr_dir / "sub").names == ["a.png", "b.png"]
    assert open_dataset(hr_dir, exclude=hr_dir / "elsewhere").names == ["a.png", "b.png", "sub/c.png"]
    with pytest.raises(InputError, match="outside the output folder"):
        open_dataset(hr_dir, exclude=hr_dir)


def test_paired_lr_is_read_by_relative_name_and_hr_cropped_to_scale_times_lr(hr_dir: Path, tmp_path: Path) -> None:
    lr_dir = tmp_path / "lr"
    for name in ("a", "b", "sub/c"):
        hr = read_image(next(hr_dir.glob(f"{name}.png"))).rgb
        write_image(lr_dir / f"{name}.png", hr[: hr.shape[0] // 4 * 4 : 4, : hr.shape[1] // 4 * 4 : 4])
    dataset = open_dataset(hr_dir, paired_lr=lr_dir)
    pair = dataset.pair(1, scale=4, degradation="ignored")
    assert dataset.paired and dataset.source("realesrgan") == "paired"
    assert pair.hr.shape[-2:] == (28, 24) and pair.lr.shape[-2:] == (7, 6)


def test_paired_lr_of_the_wrong_size_or_missing_is_an_input_error(hr_dir: Path, tmp_path: Path) -> None:
    lr_dir = tmp_path / "lr"
    write_image(lr_dir / "a.png", np.zeros((5, 7, 3), np.float32))
    with pytest.raises(InputError, match="no LR image for b.png and 1 more"):
        open_dataset(hr_dir, paired_lr=lr_dir)
    dataset = open_dataset(hr_dir, paired_lr=lr_dir, limit=1)
    with pytest.raises(InputError, match="not 4x its LR"):
        dataset.pair(0, scale=4, degradation=None)


def test_preset_and_paired_lr_exclude_each_other_and_presets_are_checked() -> None:
    with pytest.raises(UsageError, match="pass one of them"):
        check_lr_options(Path("lr"), "bicubic")
    with pytest.raises(RecipeError, match="did you mean 'bicubic'"):
        check_lr_options(None, "bicubik")
    check_lr_options(None, "realesrgan")


def test_centre_crop_is_centred_on_the_scale_grid_and_matches_the_paired_lr(hr_dir: Path, tmp_path: Path) -> None:
    original = read_image(hr_dir / "b.png").rgb  # 29x26 (h x w)
    pair = open_dataset(hr_dir, centre_crop=16).pair(1, scale=4, degradation="bicubic")
    # rows: (29 - 16) // 2 = 6 -> 4 on the grid; columns: (26 - 16) // 2 = 5 -> 4
    assert pair.hr.shape == (1, 3, 16, 16) and pair.lr.shape == (1, 3, 4, 4)
    assert torch.equal(pair.hr, torch.from_numpy(original[4:20, 4:20]).permute(2, 0, 1)[None])
    lr_dir = tmp_path / "lr"
    for name in ("a", "b", "sub/c"):
        hr = read_image(next(hr_dir.glob(f"{name}.png"))).rgb
        write_image(lr_dir / f"{name}.png", hr[: hr.shape[0] // 4 * 4 : 4, : hr.shape[1] // 4 * 4 : 4])
    paired = open_dataset(hr_dir, paired_lr=lr_dir, centre_crop=16).pair(1, scale=4, degradation="ignored")
    full_lr = read_image(lr_dir / "b.png").rgb
    assert torch.equal(paired.hr, pair.hr)
    assert torch.equal(paired.lr, torch.from_numpy(full_lr[1:5, 1:5]).permute(2, 0, 1)[None])
    wide = open_dataset(hr_dir, centre_crop=1000).pair(1, scale=4, degradation="bicubic")
    assert wide.hr.shape[-2:] == (28, 24)


def test_an_image_smaller_than_the_scale_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    write_image(tmp_path / "dot.png", np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(InputError, match=r"dot\.png: image of 3x3 is smaller than the scale 4"):
        open_dataset(tmp_path).pair(0, scale=4, degradation="bicubic")
