"""Errors a person sees: one clear line naming what to fix, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can fix; ``hint`` says how. ``exit_code`` follows the subcommand's contract."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 2) -> None:
        super().__init__(message)
        self.hint = hint
        self.exit_code = exit_code


class SettingsError(ValueError):
    """An environment variable a role cannot use; the message names the variable and the fix.
    Raised at start-up by every role's settings (operator, webhook, Google, ``calsync check``)."""
