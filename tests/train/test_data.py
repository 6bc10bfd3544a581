"""Training crops: determinism by stream position, disjoint shards per rank, epochs, augmentation, pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from srkit.errors import InputError
from srkit.train.data import BatchStream, HRCrops, ImageCache, PairedCrops, augment, reflect_pad_to
from tests.train.conftest import write_photo


def stream(source, *, rank: int = 0, world: int = 1, batch_size: int = 2, seed: int = 0, workers: int = 0,
           flips: bool = True, rotations: bool = True) -> BatchStream:
    return BatchStream(source, batch_size=batch_size, seed=seed, rank=rank, world=world, flips=flips,
                       rotations=rotations, device=torch.device("cpu"), workers=workers)


def test_same_draw_gives_the_same_batch_whatever_was_drawn_before(photos: Path) -> None:
    source = HRCrops(photos, 32, ImageCache())
    a = stream(source)
    first = a.batch(5).hr
    b = stream(source)
    for draw in range(5):
        b.batch(draw)
    assert torch.equal(b.batch(5).hr, first)
    assert first.shape == (2, 3, 32, 32) and first.dtype == torch.float32


def test_photos_inside_the_run_folder_are_not_training_data(tmp_path: Path) -> None:
    write_photo(tmp_path / "data" / "a.png", 40, 40, seed=0)
    write_photo(tmp_path / "data" / "run" / "samples" / "step1.png", 40, 40, seed=1)
    assert [i.relative.as_posix() for i in HRCrops(tmp_path / "data", 32, ImageCache(), exclude=tmp_path / "data" / "run").items] == ["a.png"]
    assert len(HRCrops(tmp_path / "data", 32, ImageCache()).items) == 2
    with pytest.raises(InputError, match="outside the run folder"):
        HRCrops(tmp_path / "data" / "run", 32, ImageCache(), exclude=tmp_path / "data" / "run")


def test_threaded_prefetch_returns_the_same_batches_as_sequential_loading(photos: Path) -> None:
    source = HRCrops(photos, 32, ImageCache())
    plain, threaded = stream(source), stream(source, workers=2)
    try:
        for draw in (0, 1, 2, 7, 8):
            assert torch.equal(plain.batch(draw).hr, threaded.batch(draw).hr)
    finally:
        threaded.close()


def test_ranks_take_disjoint_positions_and_together_cover_the_global_batch(photos: Path) -> None:
    source = HRCrops(photos, 32, ImageCache())
    ranks = [stream(source, rank=r, world=3, batch_size=2) for r in range(3)]
    positions = [p for s in ranks for p in s.positions(4)]
    assert sorted(positions) == list(range(4 * 6, 5 * 6))


def test_each_epoch_visits_every_image_once_in_a_new_order(photos: Path) -> None:
    source = HRCrops(photos, 32, ImageCache())
    s = stream(source)
    n = len(source)
    epochs = [[s.image_index(p) for p in range(e * n, (e + 1) * n)] for e in range(3)]
    assert all(sorted(e) == list(range(n)) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1


def test_different_seeds_give_different_crops(photos: Path) -> None:
    source = HRCrops(photos, 32, ImageCache())
    assert not torch.equal(stream(source, seed=0).batch(0).hr, stream(source, seed=1).batch(0).hr)


def test_crops_are_taken_from_the_photo_pixels(tmp_path: Path) -> None:
    write_photo(tmp_path / "a.png", 40, 50, seed=3)
    from srkit.io.images import read_image

    photo = read_image(tmp_path / "a.png").rgb
    crop = stream(HRCrops(tmp_path, 16, ImageCache()), batch_size=1, flips=False, rotations=False).batch(0).hr[0]
    crop = crop.permute(1, 2, 0).numpy()
    matches = [(i, j) for i in range(40 - 15) for j in range(50 - 15) if np.array_equal(photo[i : i + 16, j : j + 16], crop)]
    assert len(matches) == 1


def test_a_cut_photo_is_refused_when_the_data_is_opened_not_when_first_drawn(tmp_path: Path) -> None:
    write_photo(tmp_path / "a.png", 40, 50, seed=3)
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "b.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"b\.png: corrupt or truncated"):
        HRCrops(tmp_path, 16, ImageCache())


def test_small_photos_are_reflect_padded_to_the_crop() -> None:
    image = np.arange(2 * 3 * 1, dtype=np.float32).reshape(2, 3, 1)
    padded = reflect_pad_to(image, 4)
    assert padded.shape == (4, 4, 1)
    np.testing.assert_array_equal(padded[:2, :3], image)
    np.testing.assert_array_equal(padded[2, :3], image[0])  # reflection about the last row
    np.testing.assert_array_equal(padded[:2, 3], image[:, 1])


def dihedral(image: np.ndarray, flip: bool, turns: int) -> np.ndarray:
    return np.rot90(image[:, ::-1] if flip else image, turns)


def test_augmentation_applies_one_transform_to_every_array() -> None:
    rng = np.random.default_rng(0)
    hr, lr = rng.random((8, 8, 3)), rng.random((4, 4, 3))
    used = set()
    for seed in range(24):
        out_hr, out_lr = augment([hr, lr], np.random.default_rng(seed), flips=True, rotations=True)
        (transform,) = [(f, k) for f in (False, True) for k in range(4) if np.array_equal(dihedral(hr, f, k), out_hr)]
        np.testing.assert_array_equal(out_lr, dihedral(lr, *transform))
        used.add(transform)
    assert len(used) >= 6  # the flips and all four rotations occur


def test_no_augmentation_leaves_crops_untouched() -> None:
    image = np.random.default_rng(1).random((6, 6, 3))
    (out,) = augment([image], np.random.default_rng(0), flips=False, rotations=False)
    np.testing.assert_array_equal(out, image)


def make_pairs(folder: Path, sizes: list[tuple[int, int]], scale: int = 4) -> None:
    from srkit.io.images import write_image

    for i, (h, w) in enumerate(sizes):
        write_photo(folder / "hr" / f"p{i}.png", h * scale, w * scale, seed=i)
        rng = np.random.default_rng(i)
        write_image(folder / "lr" / f"p{i}.png", rng.random((h, w, 3)).astype(np.float32))


def test_paired_crops_stay_aligned_and_skip_pairs_smaller_than_the_crop(tmp_path: Path) -> None:
    make_pairs(tmp_path, [(10, 12), (3, 3), (9, 8)])
    messages: list[str] = []
    source = PairedCrops(tmp_path / "lr", tmp_path / "hr", 16, 4, ImageCache(), messages.append)
    assert len(source) == 2 and "1 smaller than the crop skipped" in messages[0]
    from srkit.io.images import read_image

    sample = source.crop(0, np.random.default_rng(5))
    lr_full, hr_full = read_image(tmp_path / "lr" / "p0.png").rgb, read_image(tmp_path / "hr" / "p0.png").rgb
    assert sample.lr.shape == (4, 4, 3) and sample.hr.shape == (16, 16, 3)
    hits = [(i, j) for i in range(10 - 3) for j in range(12 - 3) if np.array_equal(lr_full[i : i + 4, j : j + 4], sample.lr)]
    (i, j), = hits
    np.testing.assert_array_equal(sample.hr, hr_full[4 * i : 4 * i + 16, 4 * j : 4 * j + 16])


def test_pairs_without_partners_are_an_input_error(tmp_path: Path) -> None:
    write_photo(tmp_path / "lr" / "a.png", 8, 8, seed=0)
    write_photo(tmp_path / "hr" / "b.png", 32, 32, seed=0)
    with pytest.raises(InputError, match="no LR/HR pairs"):
        PairedCrops(tmp_path / "lr", tmp_path / "hr", 16, 4, ImageCache())


def test_an_hr_of_the_wrong_size_is_named_when_the_pairs_are_opened(tmp_path: Path) -> None:
    write_photo(tmp_path / "lr" / "a.png", 8, 8, seed=0)
    write_photo(tmp_path / "hr" / "a.png", 20, 32, seed=0)
    with pytest.raises(InputError, match=r"a\.png is 32x20 .* the HR must be 4x the LR size"):
        PairedCrops(tmp_path / "lr", tmp_path / "hr", 16, 4, ImageCache())
    write_photo(tmp_path / "hr" / "a.png", 35, 33, seed=0)  # up to scale-1 extra pixels are cropped off
    assert len(PairedCrops(tmp_path / "lr", tmp_path / "hr", 16, 4, ImageCache())) == 1


def test_image_cache_evicts_the_least_recently_used(tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for i, path in enumerate(paths):
        write_photo(path, 10, 10, seed=i)
    one_image = 10 * 10 * 3 * 4
    cache = ImageCache(max_bytes=2 * one_image)
    first = cache.get(paths[0])
    cache.get(paths[1])
    assert cache.get(paths[0]) is first  # a hit, and paths[0] becomes the most recent
    cache.get(paths[2])  # evicts paths[1], the least recently used
    assert paths[0] in cache and paths[2] in cache and paths[1] not in cache


def test_image_cache_keeps_nothing_larger_than_its_budget(tmp_path: Path) -> None:
    write_photo(tmp_path / "a.png", 10, 10, seed=0)
    cache = ImageCache(max_bytes=100)
    assert cache.get(tmp_path / "a.png").shape == (10, 10, 3)
    assert tmp_path / "a.png" not in cache
