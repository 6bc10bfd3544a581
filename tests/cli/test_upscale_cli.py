"""`srkit upscale` through the real CLI: one-line errors with exit code 2 and nothing written; JSON results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.cli.cli_helpers import assert_one_line_error, run

from srkit.io.images import read_image, write_image

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    write_image(tmp_path / "in" / "a.png", (rng.random((8, 10, 3)) * 255).astype(np.uint8))
    write_image(tmp_path / "in" / "sub" / "b.png", (rng.random((6, 6, 4)) * 65535).astype(np.uint16))
    return tmp_path / "in"


def test_upscale_writes_outputs_and_prints_only_json(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    code, out, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--json", "--quiet", "--seed", "3")
    assert code == 0, err
    report = json.loads(out)
    assert report["written"] == 2 and report["seed"] == 3 and report["method"] == "optimal-bc"
    assert {Path(e["output"]).name for e in report["images"]} == {"a.png", "b.png"}
    assert json.loads((tmp_path / "out" / "report.json").read_text())["model_id"] == report["model_id"]
    b = read_image(tmp_path / "out" / "sub" / "b.png")
    assert (b.height, b.width, b.mode, b.bit_depth) == (24, 24, "rgba", 16)


def test_sampler_options_reach_the_report(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    code, out, err = run(
        capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--json", "-q", "--sampler", "dpm-solver", "--order", "2", "--steps", "2"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["sampler"] == {"kind": "dpm_solver", "steps": 2, "order": 2, "eta": 0.0}
    assert all(e["nfe"] == 2 for e in report["images"])


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (["--method", "no-such-method"], "unknown method or recipe 'no-such-method'"),
        (["--steps", "0"], "--steps must be >= 1"),
        (["--sampler", "dpm-solver", "--order", "4"], "--order must be 1, 2 or 3"),
        (["--sampler", "euler"], "unknown sampler 'euler'"),
        (["--sampler", "resshift"], "does not fit the vp process"),
        (["--tile", "garbage"], "--tile must be 'auto', 0 or a size"),
        (["--precision", "fp16", "--device", "cpu"], "fp16 is not supported on CPU"),
        (["--color-fix", "sepia"], "--color-fix must be auto, none, adain or wavelet"),
        (["--scale", "-2"], "--scale must be > 0"),
        (["--bc", "absent.safetensors"], "--bc absent.safetensors: file not found"),
    ],
)
def test_bad_options_are_one_line_errors_and_write_nothing(capsys, tmp_path: Path, images: Path, weights: Path, extra, fragment) -> None:
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, *extra)
    assert_one_line_error(code, err, 2, fragment)
    assert not (tmp_path / "out").exists()


def test_missing_builtin_weights_say_how_to_pass_them(capsys, tmp_path: Path, images: Path) -> None:
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--method", "resshift-dream")  # never a built-in model
    assert_one_line_error(code, err, 2, "no built-in weights for method 'resshift-dream'")
    assert "--weights" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("problem", ["missing", "zero-byte", "truncated", "not-an-image"])
def test_unreadable_inputs_are_one_line_errors_and_write_nothing(capsys, tmp_path: Path, images: Path, weights: Path, problem: str) -> None:
    target = images / "z.png"
    if problem == "zero-byte":
        target.write_bytes(b"")
    elif problem == "truncated":
        data = (images / "a.png").read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif problem == "not-an-image":
        target.write_text("hello")
    source = tmp_path / "nowhere" if problem == "missing" else images
    code, _, err = run(capsys, "upscale", source, tmp_path / "out", "--weights", weights)
    assert_one_line_error(code, err, 2, "not found" if problem == "missing" else "z.png")
    assert not (tmp_path / "out").exists()


def test_a_bc_with_a_stochastic_sampler_is_one_line_without_a_note_first(capsys, tmp_path: Path, images: Path) -> None:
    code, _, err = run(capsys, "upscale", images, tmp_path / "out", "--method", "sr3", "--bc", "builtin", "--sampler", "ddpm")
    assert_one_line_error(code, err, 2, "--bc needs a deterministic sampler")
    assert not (tmp_path / "out").exists()


def test_rerunning_into_the_input_folder_never_reads_its_own_outputs(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    def twice(output: Path, *extra: str) -> list[str]:
        for statuses in (["written", "written"], ["skipped", "skipped"]):
            code, out, err = run(capsys, "upscale", images, output, "--weights", weights, "--json", "-q", *extra)
            assert code == 0, err
            assert [e["status"] for e in json.loads(out)["images"]] == statuses  # a.png and sub/b.png only
        return sorted(p.relative_to(images).as_posix() for p in images.rglob("*.png"))

    assert twice(images / "out") == ["a.png", "out/a.png", "out/sub/b.png", "sub/b.png"]
    shutil.rmtree(images / "out")
    assert twice(images, "--suffix", "_x4") == ["a.png", "a_x4.png", "sub/b.png", "sub/b_x4.png"]


def test_one_input_file_to_an_image_file_name_writes_that_file(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    target = tmp_path / "new" / "a_x4.jpg"
    code, out, err = run(capsys, "upscale", images / "a.png", target, "--weights", weights, "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["images"][0]["output"] == str(target)
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["a_x4.jpg"]  # no report.json beside it
    assert (read_image(target).height, read_image(target).width) == (32, 40)
    code, _, err = run(capsys, "upscale", images / "a.png", images / "a.png", "--weights", weights)
    assert_one_line_error(code, err, 2, "would overwrite its input")
    code, _, err = run(capsys, "upscale", images / "a.png", tmp_path / "b.png", "--weights", weights, "--suffix", "_x4")
    assert_one_line_error(code, err, 2, "already names the file")
    code, out, err = run(capsys, "upscale", images, tmp_path / "tree.png", "--weights", weights, "--json", "-q")
    assert code == 0 and (tmp_path / "tree.png" / "report.json").is_file()  # a folder input: OUTPUT stays a folder


def test_skip_unreadable_leaves_bad_inputs_out_and_reports_them(capsys, tmp_path: Path, images: Path, weights: Path) -> None:
    (images / "z.png").write_text("hello")
    code, out, err = run(capsys, "upscale", images, tmp_path / "out", "--weights", weights, "--skip-unreadable", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["written"], report["skipped"], report["unreadable"]) == (2, 0, 1)
    (bad,) = [e for e in report["images"] if e["status"] == "unreadable"]
    assert bad["input"].endswith("z.png") and "z.png" in bad["error"]
    assert "left out, unreadable" in err and "z.png" in err
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.png")) == ["a.png", "b.png"]


def test_skip_unreadable_still_refuses_a_run_with_nothing_readable(capsys, tmp_path: Path, weights: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "z.png").write_bytes(b"")
    code, _, err = run(capsys, "upscale", tmp_path / "in", tmp_path / "out", "--weights", weights, "--skip-unreadable")
    assert_one_line_error(code, err, 2, "none of the 1 inputs is readable")
    assert not (tmp_path / "out").exists()


def test_the_installed_entry_point_prints_one_line_without_traceback(tmp_path: Path, images: Path) -> None:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "srkit", "upscale", str(images), str(tmp_path / "out"), "--method", "resshift-dream"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert_one_line_error(result.returncode, result.stderr, 2, "no built-in weights for method 'resshift-dream'")


@pytest.mark.slow
def test_torchrun_shards_the_images_and_matches_one_process(tmp_path: Path, images: Path, weights: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    base = ["upscale", str(images), "--weights", str(weights), "--device", "cpu", "-q"]
    subprocess.run([sys.executable, "-m", "srkit", *base[:2], str(tmp_path / "one"), *base[2:]], check=True, env=env, timeout=300)
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "-m", "srkit", *base[:2], str(tmp_path / "two"), *base[2:]],
        check=True, env=env, timeout=300, capture_output=True,
    )
    report = json.loads((tmp_path / "two" / "report.json").read_text())
    assert report["processes"] == 2 and report["written"] == 2
    for name in ("a.png", "sub/b.png"):
        np.testing.assert_array_equal(read_image(tmp_path / "one" / name).rgb, read_image(tmp_path / "two" / name).rgb)
