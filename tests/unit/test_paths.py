"""XDG directories and private atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mvm_tui.paths import (
    config_dir,
    default_config_path,
    ensure_private_dir,
    known_hosts_path,
    runs_db_path,
    state_dir,
    write_private,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return home


def test_defaults_without_xdg_variables(home: Path) -> None:
    assert config_dir() == home / ".config" / "mvm-tui"
    assert state_dir() == home / ".local" / "state" / "mvm-tui"
    assert default_config_path() == home / ".config" / "mvm-tui" / "config.toml"
    assert runs_db_path() == home / ".local" / "state" / "mvm-tui" / "runs.sqlite3"
    assert known_hosts_path() == home / ".ssh" / "known_hosts"


def test_xdg_variables_are_honoured(home: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "st"))
    assert config_dir() == tmp_path / "cfg" / "mvm-tui"
    assert default_config_path() == tmp_path / "cfg" / "mvm-tui" / "config.toml"
    assert state_dir() == tmp_path / "st" / "mvm-tui"
    assert runs_db_path() == tmp_path / "st" / "mvm-tui" / "runs.sqlite3"


@pytest.mark.parametrize("value", ["", "relative/dir"])
def test_empty_or_relative_xdg_variables_are_ignored(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", value)
    monkeypatch.setenv("XDG_STATE_HOME", value)
    assert config_dir() == home / ".config" / "mvm-tui"
    assert state_dir() == home / ".local" / "state" / "mvm-tui"


def test_path_functions_do_not_create_directories(home: Path) -> None:
    default_config_path()
    runs_db_path()
    assert list(home.iterdir()) == []


def test_write_private_creates_file_0600_and_parents_0700(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "secret.toml"
    write_private(target, b"data\n")
    assert target.read_bytes() == b"data\n"
    assert _mode(target) == 0o600
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700


def test_write_private_leaves_existing_parent_modes_alone(tmp_path: Path) -> None:
    parent = tmp_path / "shared"
    parent.mkdir(mode=0o755)
    os.chmod(parent, 0o755)
    write_private(parent / "f", b"x")
    assert _mode(parent) == 0o755


def test_write_private_replaces_wider_permissions(tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    write_private(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_write_private_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o277)
    try:
        write_private(tmp_path / "d" / "f", b"x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "d" / "f") == 0o600
    assert _mode(tmp_path / "d") == 0o700


def test_write_private_leaves_no_temporary_files(tmp_path: Path) -> None:
    for i in range(3):
        write_private(tmp_path / "f", f"v{i}".encode())
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    assert (tmp_path / "f").read_text() == "v2"


def test_write_private_is_atomic_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old contents")

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_private(target, b"new contents")
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_write_private_uses_replace_on_a_temp_file_in_the_same_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str | Path, dst: str | Path) -> None:
        calls.append((str(src), str(dst)))
        assert Path(src).parent == tmp_path
        assert _mode(Path(src)) == 0o600
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_private(tmp_path / "f", b"x")
    assert len(calls) == 1
    assert calls[0][1] == str(tmp_path / "f")
    assert calls[0][0] != calls[0][1]


def test_write_private_large_data(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    write_private(tmp_path / "big", data)
    assert (tmp_path / "big").read_bytes() == data


def test_ensure_private_dir(tmp_path: Path) -> None:
    d = tmp_path / "x" / "y"
    assert ensure_private_dir(d) == d
    assert d.is_dir()
    assert _mode(d) == 0o700
    assert _mode(tmp_path / "x") == 0o700
    assert ensure_private_dir(d) == d  # idempotent


def test_ensure_private_dir_with_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        ensure_private_dir(tmp_path / "file" / "sub")
