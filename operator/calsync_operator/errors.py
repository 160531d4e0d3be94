"""Errors a person sees on the command line: one clear line and a hint, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can fix; ``hint`` says how. ``exit_code`` follows the subcommand's contract."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = 2) -> None:
        super().__init__(message)
        self.hint = hint
        self.exit_code = exit_code
