"""A damaged run store: a message naming the file and what to do, the session still starts
(refusing every action), and nothing in the file is changed. Each damage is made with a real
file: a real store truncated, garbage, a future schema_version, a directory, bad JSON in a row.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.decommission_cli import run_decommission
from mvm_tui.ha_cli import run_ha
from mvm_tui.models import PowerAction
from mvm_tui.runs import (
    SCHEMA_VERSION,
    RunExecutor,
    RunsRefused,
    RunState,
    RunStore,
    RunStoreDamaged,
    RunUnreadable,
    Step,
    StepContext,
    Targets,
)
from mvm_tui.session import open_session

T0 = 1_767_225_600.0


async def _noop(ctx: StepContext) -> None:
    return None


async def _yes(ctx: StepContext) -> bool:
    return True


def real_store(path: Path, runs: int = 40) -> Path:
    """A store with `runs` runs, each with a step and 20 log lines; closed."""
    with RunStore(path) as store:
        for i in range(runs):
            run = store.create_run("k", f"run {i}", {"vm": f"vm-{i}"}, Targets("demo"),
                                   [Step("start", ("virsh start x",), _noop, _yes)], created=T0)
            for j in range(20):
                store.append_log(run.id, 0, T0, "out", f"line {j} of run {i} " * 4)
    return path


def fingerprint(path: Path) -> str:
    """The file's bytes (a directory: its listing)."""
    if path.is_dir():
        return "dir:" + ",".join(sorted(p.name for p in path.iterdir()))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def truncated(path: Path) -> None:
    real_store(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def truncated_in_the_header(path: Path) -> None:
    real_store(path)
    path.write_bytes(path.read_bytes()[:10])


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 300)


def future_schema(path: Path) -> None:
    real_store(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()


def directory(path: Path) -> None:
    path.mkdir()
    (path / "something").write_text("kept")


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (truncated, "truncated or damaged"),
    "truncated in the header": (truncated_in_the_header, "truncated (10 bytes)"),
    "not a database": (garbage, "not an SQLite database"),
    "newer schema": (future_schema, f"schema version {SCHEMA_VERSION + 1}"),
    "a directory": (directory, "a directory is in its place"),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_store_is_named_with_what_to_do_and_left_as_it_is(
        tmp_path: Path, damage: str) -> None:
    make, problem = DAMAGES[damage]
    path = tmp_path / "state dir" / "runs.sqlite3"  # a space, as a HOME may have
    path.parent.mkdir()
    make(path)
    before = fingerprint(path)
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(RunStoreDamaged) as raised:
        RunStore(path)
    message = str(raised.value)
    assert str(path) in message
    assert problem in message
    assert "Nothing in it was changed" in message
    if damage == "newer schema":
        assert "use that newer mvm-tui" in message
    else:
        assert "mv '" in message
        assert ".damaged'" in message  # quoted: the path has a space
    assert fingerprint(path) == before
    # nothing written beside it either (no owners' directory), but for the empty WAL and
    # shared-memory index SQLite's read-only connection makes for a WAL database
    added = {p.name for p in path.parent.iterdir()} - set(siblings)
    assert added <= {"runs.sqlite3-wal", "runs.sqlite3-shm"}
    wal = path.with_name("runs.sqlite3-wal")
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("damage", DAMAGES)
def test_the_session_starts_and_refuses_every_run(tmp_path: Path, damage: str) -> None:
    make, _ = DAMAGES[damage]
    path = tmp_path / "runs.sqlite3"
    make(path)
    before = fingerprint(path)
    session = open_session(demo_config(), demo=True, clock=VirtualClock(), db_path=path)
    try:
        assert session.store_damage is not None
        assert session.store_damage.path == path
        assert session.store.list_runs() == []  # an empty store in memory
        with pytest.raises(RunsRefused) as refused:
            session.executor.create("demo:vm.power", "x", {}, Targets("demo"))
        assert str(path) in str(refused.value)
        assert "nothing was done" in str(refused.value)
    finally:
        asyncio.run(session.close())
    assert fingerprint(path) == before


def test_a_healthy_store_is_not_written_by_opening_and_reading_it(tmp_path: Path) -> None:
    path = real_store(tmp_path / "runs.sqlite3")
    before = fingerprint(path)
    with RunStore(path) as store:
        assert len(store.list_runs()) == 40
    assert fingerprint(path) == before


def bad_json(path: Path, run_id: int, params: str, state: str = "interrupted") -> None:
    db = sqlite3.connect(path)
    db.execute("UPDATE runs SET params = ?, state = ? WHERE id = ?", (params, state, run_id))
    db.commit()
    db.close()


def raw_row(path: Path, run_id: int) -> tuple[object, ...]:
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return tuple(row)
    finally:
        db.close()


def test_a_run_with_bad_json_is_shown_unreadable_and_never_executed(tmp_path: Path) -> None:
    path = real_store(tmp_path / "runs.sqlite3", runs=3)
    bad_json(path, 2, '{"vm": "vm-1", ')  # cut in the middle
    bad_json(path, 3, "[1, 2]", state="running")  # JSON, but not an object
    rows = {i: raw_row(path, i) for i in (2, 3)}
    with RunStore(path) as store:
        store.set_run_state(1, RunState.DONE)
        runs = {r.id: r for r in store.list_runs()}
        assert runs[1].unreadable is None
        assert runs[1].params == {"vm": "vm-0"}
        assert runs[2].unreadable == "its parameters are not valid JSON"
        assert runs[3].unreadable == "its parameters are not a JSON object"
        assert runs[2].params == {}
        assert runs[2].title == "run 1"
        assert store.get_run(2).unreadable == runs[2].unreadable
        assert [r.id for r in store.unfinished()] == []  # never recovered or resumed
        executor = RunExecutor(store, VirtualClock())
        executor.register("k", lambda params: [Step("s", (), _noop, _yes)])
        try:
            assert executor.recover() == []
            with pytest.raises(RunUnreadable, match="run 2 cannot be retried or resumed"):
                asyncio.run(executor.execute(2))
            assert asyncio.run(executor.resume_unfinished()) == []
        finally:
            executor.close()
        assert store.get_run(3).state is RunState.RUNNING  # left as it was
    assert {i: raw_row(path, i) for i in (2, 3)} == rows


def test_a_step_preview_or_a_note_with_bad_json_is_said_not_raised(tmp_path: Path) -> None:
    path = real_store(tmp_path / "runs.sqlite3", runs=1)
    db = sqlite3.connect(path)
    db.execute("UPDATE steps SET preview = 'not json' WHERE run_id = 1")
    db.execute("INSERT INTO notes (run_id, key, value) VALUES (1, 'epoch', '{oops')")
    db.commit()
    db.close()
    with RunStore(path) as store:
        (step,) = store.steps(1)
        assert step.preview == ("(its commands are not valid JSON)",)
        with pytest.raises(RunUnreadable, match="epoch"):
            store.notes(1)


def test_headless_commands_say_it_and_act_on_nothing(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "runs.sqlite3"
    garbage(path)
    before = fingerprint(path)
    status = asyncio.run(run_ha(None, demo=True, db_path=path, lock_dir=tmp_path / "ha"))
    err = capsys.readouterr().err
    assert status == 74
    assert str(path) in err
    assert "does not start" in err
    status = asyncio.run(run_decommission("hv3", None, demo=True, db_path=path))
    err = capsys.readouterr().err
    assert status == 74
    assert "not an SQLite database" in err
    status = asyncio.run(run_decommission("hv3", None, demo=True, dry_run=True, db_path=path))
    captured = capsys.readouterr()
    assert status == 0
    assert "steps:" in captured.out
    assert str(path) in captured.err
    assert fingerprint(path) == before


def test_the_inventory_works_and_warns(tmp_path: Path) -> None:
    state = tmp_path / "mvm-tui"
    state.mkdir()
    (state / "runs.sqlite3").mkdir()  # a directory in the store's place
    # the example's hosts, with HOME here: their key files are missing, nothing is contacted
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    result = subprocess.run(
        [sys.executable, "-m", "mvm_tui.cli", "inventory", "--json", "--config", str(example)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert '"clusters"' in result.stdout
    assert "warning: the run history" in result.stderr
    assert "Traceback" not in result.stderr
    assert "a directory is in its place" in result.stderr


def test_power_action_refused_through_the_cluster(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    future_schema(path)
    before = fingerprint(path)
    session = open_session(demo_config(), demo=True, clock=VirtualClock(), db_path=path)
    try:
        cluster = session.clusters[0]
        asyncio.run(cluster.poller.poll_host("hv1"))
        vm = next(v for v in cluster.snapshot().vms if v.host == "hv1")
        assert cluster.power_preview(vm, PowerAction.POWEROFF)  # a preview is still shown
        with pytest.raises(RunsRefused, match="written by a newer mvm-tui"):
            cluster.create_power_run(vm, PowerAction.POWEROFF)
    finally:
        asyncio.run(session.close())
    assert fingerprint(path) == before


def test_a_store_another_process_holds_is_not_called_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock held longer than the check waits (a rollback-journal file with an exclusive
    lock: WAL readers are never blocked) is said as such, not as damage."""
    from mvm_tui.runs import damage

    path = tmp_path / "runs.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")
    holder.execute("CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO schema_version VALUES (1, 1)")
    monkeypatch.setattr(damage, "BUSY_TIMEOUT", 0.1)
    try:
        with pytest.raises(RunStoreDamaged) as raised:
            RunStore(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "another process holds it" in str(raised.value)
    assert "truncated" not in str(raised.value)
