"""``calsync --help`` and every subcommand's ``--help``: what a person reads first.

Each subcommand says what it does (a description), every option says what it is for (no bare
``--flag`` without help text), and asking for help loads no heavy machinery (the console script
imports each subcommand's module to build its parser)."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from calsync_operator.cli.main import build_parser

PEOPLE_COMMANDS = ("demo", "auth", "check", "status", "sync", "suspend", "resume", "confirm-delete")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_top_level_help_lists_every_command_and_points_at_the_demo() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "calsync_operator.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stderr == ""
    for name in subcommands():
        # argparse puts the help of a long name (confirm-delete) on the next line
        assert f"\n    {name} " in done.stdout or f"\n    {name}\n" in done.stdout
    assert "calsync demo" in done.stdout.split("options:")[1]


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_each_subcommand_describes_itself_and_every_option(name: str) -> None:
    parser = subcommands()[name]
    assert len(parser.description or "") > 40
    undocumented = [
        action.option_strings for action in parser._actions if action.option_strings and not action.help
    ]
    assert undocumented == []
    text = parser.format_help()
    assert text.startswith(f"usage: calsync {name} ")


@pytest.mark.parametrize("name", PEOPLE_COMMANDS)
def test_people_commands_show_an_example_or_their_defaults(name: str) -> None:
    text = subcommands()[name].format_help()
    assert "example" in text or "default" in text


def test_help_does_not_import_the_heavy_parts() -> None:
    # kopf, the kubernetes client, Google's auth libraries and the servers (uvicorn for the
    # emulators, aiohttp under kopf and kmock) are most of a command's start-up.
    heavy = ("kopf", "kubernetes", "google_auth_oauthlib", "googleapiclient", "uvicorn", "aiohttp", "kmock")
    probe = (
        "import sys; from calsync_operator.cli.main import build_parser; build_parser(); "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
