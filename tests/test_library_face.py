"""``from srkit import upscale, train, find_bc, degrade``: the library face, light to import, same outputs as the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from srkit.io.images import read_image, write_image
from tests.cli.cli_helpers import run


def test_import_srkit_loads_no_torch_and_the_four_names_are_callable() -> None:
    code = "import sys, srkit; light = 'torch' not in sys.modules; from srkit import upscale, train, find_bc, degrade; " \
           "print(light, all(map(callable, (upscale, train, find_bc, degrade))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.split() == ["True", "True"]


def test_library_upscale_writes_what_the_cli_writes(capsys, tmp_path: Path) -> None:
    from srkit import upscale

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        write_image(tmp_path / "in.png", (np.random.default_rng(3).random((8, 8, 3)) * 255).astype(np.uint8))
        report = upscale(tmp_path / "in.png", tmp_path / "lib.png", method="sr3", sampler="ddpm", steps=2, device="cpu", seed=4)
        code, _, err = run(capsys, "upscale", tmp_path / "in.png", tmp_path / "cli.png", "--method", "sr3", "--sampler", "ddpm",
                           "--steps", "2", "--device", "cpu", "--seed", "4", "--quiet")
    finally:
        torch.set_num_threads(threads)
    assert code == 0, err
    assert report["written"] == 1 and report["sampler"]["steps"] == 2
    assert np.array_equal(read_image(tmp_path / "lib.png").rgb, read_image(tmp_path / "cli.png").rgb)
