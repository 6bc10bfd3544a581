"""Helpers of the in-process CLI tests: run ``srkit`` and check a one-line error."""

from __future__ import annotations

import pytest

from srkit.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """``srkit ARGS`` in process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected_code: int, fragment: str) -> None:
    """Exit code ``expected_code`` and exactly one ``srkit: error:`` line on stderr containing ``fragment``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, err
    assert len(lines) == 1, err
    assert lines[0].startswith("srkit: error:") and fragment in lines[0], lines[0]
    assert "Traceback" not in err
