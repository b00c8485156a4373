"""`mvm-tui cluster create --from FILE`: bad input gets a clear message and changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mvm_tui.cli import main
from mvm_tui.cluster_cli import create_cluster

CLUSTER = """
[[clusters]]
name = "{name}"
layout = "external"
[[clusters.hosts]]
name = "n1"
address = "192.0.2.1"
"""


async def test_a_file_with_a_typo_names_the_file_and_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "new.toml"
    source.write_text(CLUSTER.format(name="a") + 'layuot = "hci"\n')
    config = tmp_path / "config.toml"
    assert await create_cluster(source, config, out=io.StringIO(),
                                db_path=tmp_path / "r.sqlite3") == 2
    err = capsys.readouterr().err
    assert str(source) in err
    assert "layuot" in err
    assert not config.exists()


async def test_exactly_one_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "new.toml"
    source.write_text(CLUSTER.format(name="a") + CLUSTER.format(name="b"))
    assert await create_cluster(source, tmp_path / "config.toml", out=io.StringIO(),
                                db_path=tmp_path / "r.sqlite3") == 2
    assert "exactly one [[clusters]] table" in capsys.readouterr().err


async def test_an_unreachable_host_changes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "new.toml"
    source.write_text(CLUSTER.format(name="a").replace('"192.0.2.1"', '"127.0.0.1"\nport = 1'))
    config = tmp_path / "config.toml"
    out = io.StringIO()
    assert await create_cluster(source, config, out=out, db_path=tmp_path / "r.sqlite3") == 1
    text = out.getvalue()
    assert "preflight n1: NOT ready" in text
    assert "nothing was changed" in text
    assert "check the address and the port" in text
    assert not config.exists()


async def test_a_config_file_it_cannot_read_fails_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "new.toml"
    source.write_text(CLUSTER.format(name="a"))
    config = tmp_path / "config.toml"
    config.write_text("[timers]\npoll_intervall = 5\n")
    out = io.StringIO()
    assert await create_cluster(source, config, out=out, db_path=tmp_path / "r.sqlite3") == 2
    err = capsys.readouterr().err
    assert str(config) in err
    assert "poll_intervall" in err
    assert out.getvalue() == ""  # no preflight, nothing run
    assert config.read_text() == "[timers]\npoll_intervall = 5\n"


def test_the_command_line_creates_a_config_file_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # its runs database
    source = tmp_path / "new.toml"
    source.write_text(CLUSTER.format(name="a").replace('"192.0.2.1"', '"127.0.0.1"\nport = 1'))
    config = tmp_path / "new-config.toml"
    code = main(["cluster", "create", "--from", str(source), "--config", str(config)])
    out = capsys.readouterr()
    assert "no such file" not in out.err  # before: refused, as for the other commands
    assert code == 1
    assert "preflight n1: NOT ready" in out.out


async def test_a_damaged_run_store_fails_before_the_preflight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "new.toml"
    source.write_text(CLUSTER.format(name="a").replace('"192.0.2.1"', '"127.0.0.1"\nport = 1'))
    config = tmp_path / "config.toml"
    store = tmp_path / "r.sqlite3"
    store.mkdir()  # a directory in the store's place
    out = io.StringIO()
    assert await create_cluster(source, config, out=out, db_path=store) == 74
    err = capsys.readouterr().err
    assert str(store) in err
    assert "a directory is in its place" in err
    assert "preflight" not in out.getvalue()  # nothing ran
    assert not config.exists()
    assert list(store.iterdir()) == []
