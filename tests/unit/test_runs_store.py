"""RunStore: the SQLite file, its permissions and schema, and what it reads back."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mvm_tui.runs import (
    SCHEMA_VERSION,
    LogLine,
    RunError,
    RunNotFound,
    RunState,
    RunStore,
    Step,
    StepContext,
    StepState,
    Targets,
)
from mvm_tui.runs.schema import MIGRATIONS

T0 = 1_767_225_600.0


async def _noop(ctx: StepContext) -> None:
    return None


async def _yes(ctx: StepContext) -> bool:
    return True


def _steps(*titles: str) -> list[Step]:
    return [Step(title, (f"virsh start {title}",), _noop, _yes) for title in titles]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    s = RunStore(tmp_path / "runs.db")
    yield s
    s.close()


def test_creates_private_directories_and_file_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "state" / "mvm-tui" / "runs.db"
    existing_mode = _mode(tmp_path)
    old = os.umask(0)
    try:
        store = RunStore(path)
    finally:
        os.umask(old)
    try:
        store.create_run("k", "t", {}, Targets("c"), _steps("a"), created=T0)
        assert _mode(tmp_path / "state") == 0o700
        assert _mode(tmp_path / "state" / "mvm-tui") == 0o700
        assert _mode(path) == 0o600
        wal = path.with_name("runs.db-wal")
        assert wal.exists()  # WAL journal
        assert _mode(wal) == 0o600
    finally:
        store.close()
    assert _mode(tmp_path) == existing_mode  # an existing parent is left alone


def test_an_existing_database_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    RunStore(path).close()
    assert _mode(path) == 0o600


def test_schema_version_wal_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = RunStore(path)
    run = store.create_run("k", "t", {"a": 1}, Targets("c"), _steps("a"), created=T0)
    store.close()

    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()

    with RunStore(path) as again:  # migrating twice is a no-op
        assert again.get_run(run.id) == run


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    RunStore(path).close()
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    raw.close()
    with pytest.raises(RunError, match="newer mvm-tui"):
        RunStore(path)


def test_create_run_persists_run_and_steps(store: RunStore) -> None:
    params = {"vm": "web-1", "action": "start", "nested": {"ids": [1, 2]}, "note": "é"}
    run = store.create_run(
        "vm.power",
        "Start web-1",
        params,
        Targets("prod", "hv1", "web-1"),
        _steps("a", "b"),
        created=T0,
    )
    assert run.id == 1
    assert run.kind == "vm.power"
    assert run.params == params
    assert run.targets == Targets("prod", "hv1", "web-1")
    assert run.state is RunState.PENDING
    assert (run.created, run.started, run.ended, run.error) == (T0, None, None, None)
    assert store.get_run(run.id) == run

    steps = store.steps(run.id)
    assert [(s.index, s.title, s.preview, s.state) for s in steps] == [
        (0, "a", ("virsh start a",), StepState.PENDING),
        (1, "b", ("virsh start b",), StepState.PENDING),
    ]
    assert all(s.started is None and s.ended is None and s.error is None for s in steps)


def test_state_updates_change_only_what_they_are_given(store: RunStore) -> None:
    run = store.create_run("k", "t", {}, Targets("c"), _steps("a"), created=T0)
    running = store.set_run_state(run.id, RunState.RUNNING, started=T0 + 1)
    assert (running.state, running.started, running.ended) == (RunState.RUNNING, T0 + 1, None)
    failed = store.set_run_state(run.id, RunState.FAILED, ended=T0 + 2, error="boom")
    assert (failed.started, failed.ended, failed.error) == (T0 + 1, T0 + 2, "boom")
    assert store.get_run(run.id) == failed

    step = store.set_step_state(run.id, 0, StepState.RUNNING, started=T0 + 1)
    assert (step.state, step.started, step.ended) == (StepState.RUNNING, T0 + 1, None)
    step = store.set_step_state(run.id, 0, StepState.FAILED, ended=T0 + 2, error="boom")
    assert (step.started, step.ended, step.error) == (T0 + 1, T0 + 2, "boom")
    assert store.steps(run.id) == [step]

    with pytest.raises(RunNotFound):
        store.set_run_state(99, RunState.DONE)
    with pytest.raises(RunError):
        store.set_step_state(run.id, 5, StepState.DONE)


def test_log_lines_come_back_in_order(store: RunStore) -> None:
    run = store.create_run("k", "t", {}, Targets("c"), _steps("a"), created=T0)
    other = store.create_run("k", "t", {}, Targets("c"), _steps("a"), created=T0)
    written = [
        store.append_log(run.id, None, T0, "info", "run started"),
        store.append_log(run.id, 0, T0 + 1, "out", "Domain web-1 started"),
        store.append_log(run.id, 0, T0 + 2, "err", "warning: x"),
    ]
    store.append_log(other.id, 0, T0, "out", "not mine")
    assert store.log(run.id) == written
    assert written[1] == LogLine(run.id, 0, T0 + 1, "out", "Domain web-1 started")


def test_get_run_of_an_unknown_id(store: RunStore) -> None:
    with pytest.raises(RunNotFound, match="no run with id 42"):
        store.get_run(42)
    with pytest.raises(LookupError):
        store.get_run(42)


def test_list_runs_filters_and_orders_newest_first(store: RunStore) -> None:
    targets = [
        Targets("prod", "hv1", "web-1"),
        Targets("prod", "hv2", "web-2"),
        Targets("lab", "hv1", "db-1"),
        Targets("prod", "hv1"),
        Targets("prod"),
    ]
    ids = [
        store.create_run("k", f"run {i}", {}, t, _steps("a"), created=T0 + i).id
        for i, t in enumerate(targets)
    ]
    assert ids == [1, 2, 3, 4, 5]

    def listed(
        cluster: str | None = None, host: str | None = None, vm: str | None = None, limit: int = 200
    ) -> list[int]:
        return [r.id for r in store.list_runs(cluster, host, vm, limit)]

    assert listed() == [5, 4, 3, 2, 1]
    assert listed(cluster="prod") == [5, 4, 2, 1]
    assert listed(cluster="lab") == [3]
    assert listed(host="hv1") == [4, 3, 1]
    assert listed(cluster="prod", host="hv1") == [4, 1]
    assert listed(vm="web-2") == [2]
    assert listed(cluster="lab", vm="web-1") == []
    assert listed(limit=2) == [5, 4]


def test_unfinished_runs_oldest_first(store: RunStore) -> None:
    states = [
        RunState.DONE,
        RunState.RUNNING,
        RunState.FAILED,
        RunState.INTERRUPTED,
        RunState.PENDING,
    ]
    for i, state in enumerate(states):
        run = store.create_run("k", f"run {i}", {}, Targets("c"), _steps("a"), created=T0)
        if state is not RunState.PENDING:
            store.set_run_state(run.id, state)
    assert [(r.id, r.state) for r in store.unfinished()] == [
        (2, RunState.RUNNING),
        (4, RunState.INTERRUPTED),
        (5, RunState.PENDING),
    ]


def test_params_must_be_json(store: RunStore) -> None:
    with pytest.raises(TypeError):
        store.create_run("k", "t", {"when": object()}, Targets("c"), _steps("a"), created=T0)
    assert store.list_runs() == []


def test_two_stores_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    with RunStore(tmp_path / "runs.db") as a, RunStore(tmp_path / "runs.db") as b:
        run = a.create_run("k", "t", {}, Targets("c"), _steps("a"), created=T0)
        b.set_run_state(run.id, RunState.DONE, ended=T0 + 5)
        assert a.get_run(run.id).state is RunState.DONE


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(RunError, match="closed"):
        store.list_runs()


def test_a_run_left_running_by_an_older_version_has_no_owner(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as raw:  # the schema before runs had owners
        raw.execute("CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER)")
        raw.execute("INSERT INTO schema_version VALUES (1, 1)")
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("INSERT INTO runs (kind, title, params, cluster, state, created)"
                    " VALUES ('probe', 'old', '{}', 'prod', 'running', 1.0)")
    with RunStore(path) as store:
        (run,) = store.unfinished()
        assert run.state is RunState.RUNNING
        assert run.owner is None
        log = store.log(run.id)
        assert log == []
        assert store.log(run.id, skip=5) == []


def test_log_skips_what_a_follower_has_read(store: RunStore) -> None:
    run = store.create_run("k", "t", {}, Targets("c"), [], created=T0)
    for i in range(4):
        store.append_log(run.id, None, T0 + i, "out", f"line {i}")
    assert [line.text for line in store.log(run.id, skip=3)] == ["line 3"]
    assert store.log(run.id, skip=4) == []


def test_notes_are_kept_per_run_and_replaced_by_key(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with RunStore(path) as store:
        a = store.create_run("k", "a", {}, Targets("c"), _steps("x"), created=T0)
        b = store.create_run("k", "b", {}, Targets("c"), _steps("x"), created=T0)
        store.set_note(a.id, "out_epoch", 41)
        store.set_note(a.id, "out_epoch", 42)
        store.set_note(a.id, "seen", {"osd": [2], "why": "é"})
        with pytest.raises(TypeError):
            store.set_note(a.id, "bad", object())
    with RunStore(path) as store:  # another process reads them back
        assert store.notes(a.id) == {"out_epoch": 42, "seen": {"osd": [2], "why": "é"}}
        assert store.notes(b.id) == {}
