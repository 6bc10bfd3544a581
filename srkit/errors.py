"""One family of user-facing errors.

Raise an :class:`SrkitError` subclass where a problem is understood, with a
message a user can act on; the CLI prints it as one line and exits with
``exit_code`` (2 = bad usage or input, 1 = runtime failure).
"""

from __future__ import annotations


class SrkitError(Exception):
    """Base class: a failure with a one-line, user-facing message."""

    exit_code: int = 1


class UsageError(SrkitError):
    """Bad option values, unknown names, impossible settings (exit code 2)."""

    exit_code = 2


class InputError(SrkitError):
    """Missing, unreadable or malformed input files (exit code 2)."""

    exit_code = 2


class RecipeError(UsageError):
    """A recipe file or value fails validation."""


class WeightsError(SrkitError):
    """Weights that are missing, mismatched or in a refused format (exit code 2)."""

    exit_code = 2


class MetricUnavailable(SrkitError):
    """A metric whose pretrained weights are not present offline."""

    exit_code = 1


class SettingError(UsageError):
    """A bad value of one named run setting (``tile``, ``color_fix``, ``precision``...).

    The library's message names the setting (``tile must be ...``); the CLI names
    it as its flag (``--tile must be ...``), so library errors never speak of flags.
    """

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting.replace('_', ' ')} {problem}")
