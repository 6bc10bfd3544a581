"""Make the weight packages look uninstalled, to test the "unavailable" paths on a machine that has them."""

from __future__ import annotations

import pytest

from srkit.pretrained.sources import PackageFile


def hide_weight_packages(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """``PackageFile.find`` sees none of ``packages`` (all weight packages when none are named)."""
    original = PackageFile.package_dir

    def package_dir(self: PackageFile):
        return None if not packages or self.package in packages else original(self)

    monkeypatch.setattr(PackageFile, "package_dir", package_dir)
