"""Packaging hook: ship the top-level ``recipes/`` folder inside the wheel as ``srkit._recipes``.

Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["srkit", "srkit.*"]) + ["srkit._recipes"],
    package_dir={"srkit._recipes": "recipes"},
)
