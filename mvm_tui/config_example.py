"""The example configuration, every key explained: mvm_tui/config.example.toml, installed
with the package (config.example.toml at the repository root is a link to it), printed by
`mvm-tui config example`."""

from __future__ import annotations

from importlib.resources import files

COMMAND = "mvm-tui config example"
FILE = "config.example.toml"


def example_text() -> str:
    """The example as installed."""
    return files("mvm_tui").joinpath(FILE).read_text(encoding="utf-8")
