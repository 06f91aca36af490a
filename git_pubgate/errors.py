"""The one error type the library raises for anything a user can act on."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class PubgateError(Exception):
    """A failure the user can act on: printed as ``error:`` plus ``hint:``, never a traceback.

    Args:
        message: one line saying what went wrong.
        hint: one line saying what to do about it.
        exit_code: 1 for refused or failed work, 2 for usage and configuration mistakes.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(PubgateError):
    """The configuration or the command line is wrong (exit 2)."""

    exit_code = EXIT_USAGE
