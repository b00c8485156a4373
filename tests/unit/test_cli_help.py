"""Every argument of every mvm-tui command says what it is in --help (`cluster create --from`
had none): a walk of the parsers, headless commands and `mvm-tui lab` alike."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mvm_tui.cli import build_parser
from mvm_tui.lab.__main__ import build_parser as build_lab_parser


def parsers(parser: argparse.ArgumentParser, path: str) -> Iterator[
        tuple[str, argparse.ArgumentParser, dict[str, str | None]]]:
    """(command path, parser, help of each of its subcommands) for the parser and every
    subcommand below it."""
    subcommands: dict[str, str | None] = {}
    below = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                subcommands[name] = helps.get(name)
                below.append((f"{path} {name}", sub))
    yield path, parser, subcommands
    for sub_path, sub in below:
        yield from parsers(sub, sub_path)


def missing_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for where, p, subcommands in parsers(parser, path):
        missing += [f"{where} {name}" for name, text in subcommands.items() if not text]
        missing += [f"{where} {'/'.join(a.option_strings) or a.dest}" for a in p._actions
                    if not isinstance(a, argparse._SubParsersAction)
                    and (not a.help or a.help == argparse.SUPPRESS)]
    return missing


@pytest.mark.parametrize(("parser", "path"), [(build_parser(), "mvm-tui"),
                                              (build_lab_parser(), "mvm-tui lab")])
def test_every_argument_has_a_help_text(parser: argparse.ArgumentParser, path: str) -> None:
    assert missing_help(parser, path) == []


def test_the_walk_reaches_every_command_and_sees_a_missing_help() -> None:
    walked = {where for where, _, _ in parsers(build_parser(), "mvm-tui")}
    assert {"mvm-tui cluster create", "mvm-tui cluster trust", "mvm-tui config example",
            "mvm-tui decommission", "mvm-tui ha", "mvm-tui inventory"} <= walked
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers().add_parser("create", help="make one")
    sub.add_argument("--from", dest="source")
    sub.add_argument("name", help="its name")
    assert missing_help(parser, "x") == ["x create --from"]


PROBE = """
import sys
from mvm_tui.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = {"pydantic", "asyncssh", "libvirt", "textual"}
print("loaded:", *sorted({m.split(".")[0] for m in sys.modules} & heavy))
"""


@pytest.mark.parametrize("argv", [["--help"], ["config", "example"], ["ha", "--help"]])
def test_help_and_light_commands_load_no_heavy_library(argv: list[str]) -> None:
    """`--help` took 0.55 s loading pydantic, asyncssh and libvirt it does not use
    (bench/cli_start.py: now under 0.1 s)."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                          text=True, check=True)
    assert done.stdout.splitlines()[-1] == "loaded:", done.stdout[-300:]
