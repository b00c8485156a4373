"""config.example.toml is installed with the package, `mvm-tui config example` prints it, and
the messages about a missing configuration point to that command."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from mvm_tui.config import ConfigError, load_config
from mvm_tui.config_example import COMMAND, example_text
from mvm_tui.session import SessionError, open_session

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_example_is_the_repository_copy() -> None:
    packaged = files("mvm_tui").joinpath("config.example.toml")
    assert packaged.is_file()
    assert packaged.read_bytes() == (ROOT / "config.example.toml").read_bytes()
    assert example_text() == packaged.read_text(encoding="utf-8")


def test_the_build_ships_it_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["mvm_tui"]
    assert any(fnmatch.fnmatch("config.example.toml", p) for p in patterns)
    # one source: the repository root's copy is a link to the package's file
    assert (ROOT / "config.example.toml").resolve() == ROOT / "mvm_tui" / "config.example.toml"


def test_the_command_prints_it_and_it_loads(tmp_path: Path) -> None:
    assert COMMAND == "mvm-tui config example"
    result = subprocess.run([sys.executable, "-m", "mvm_tui.cli", "config", "example"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout == example_text()
    copy = tmp_path / "config.toml"
    copy.write_text(result.stdout)
    assert [c.name for c in load_config(copy).clusters] == ["prod", "branch"]


def test_a_missing_config_points_to_the_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"`{COMMAND}` prints an example"):
        load_config(tmp_path / "config.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(SessionError, match=f"`{COMMAND}` shows one"):
        open_session(load_config(empty), False, db_path=tmp_path / "runs.db")
