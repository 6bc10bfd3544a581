"""The CLI contract: help everywhere, exit codes 0/1/2, one-line errors, JSON on stdout only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

COMMANDS = ["train", "upscale", "find-bc", "degrade", "bench", "stability", "recipes", "models", "convert"]


def run_srkit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "srkit", *args], capture_output=True, text=True, timeout=timeout, env=env)


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, fragment: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("srkit: error:") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_help_lists_every_command() -> None:
    result = run_srkit("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    result = run_srkit(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout and "--help" in result.stdout


def test_help_does_not_import_torch() -> None:
    code = "import sys; from srkit.cli.app import app; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version() -> None:
    from srkit import __version__

    result = run_srkit("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"srkit {__version__}"


def test_recipes_json_is_the_only_stdout() -> None:
    result = run_srkit("recipes", "--json")
    assert result.returncode == 0, result.stderr
    names = {row["name"] for row in json.loads(result.stdout)["recipes"]}
    assert {"sr3", "sr3-dream", "resshift", "dossr", "ccsr", "optimal-bc"} <= names


def test_recipes_show_one_as_json() -> None:
    result = run_srkit("recipes", "dossr", "--json")
    data = json.loads(result.stdout)
    assert data["sampler"]["kind"] == "dos_sde" and data["network"]["kind"] == "unet"


def test_unknown_recipe_is_exit_2_one_line() -> None:
    assert_one_line_error(run_srkit("recipes", "dosr"), 2, "did you mean 'dossr'")


def test_unknown_command_is_exit_2_one_line() -> None:
    assert_one_line_error(run_srkit("upscal"), 2, "upscal")


def test_unknown_option_is_exit_2_one_line() -> None:
    assert_one_line_error(run_srkit("recipes", "--bogus"), 2, "--bogus")


def test_out_of_range_option_is_exit_2_one_line() -> None:
    assert_one_line_error(run_srkit("upscale", "a.png", "out", "--batch", "0"), 2, "--batch")


def test_non_integer_option_is_exit_2_one_line() -> None:
    assert_one_line_error(run_srkit("upscale", "a.png", "out", "--steps", "five"), 2, "--steps")
