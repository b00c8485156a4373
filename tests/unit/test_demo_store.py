"""--demo records its runs in a store of its own process (a new simulator each time: runs of
an earlier demo would not match it), removed when it ends, and never in the operator's
History."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from mvm_tui import cli
from mvm_tui.app import MvmApp
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.models import PowerAction
from mvm_tui.runs import RunStore, Targets
from mvm_tui.session import Session, open_session, poll_once


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$XDG_STATE_HOME, holding the operator's History (one run) and an older mvm-tui's
    shared demo store (one run); temporary files go to tmp_path/tmp."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    for name in ("runs.sqlite3", "demo-runs.sqlite3"):
        with RunStore(tmp_path / "state" / "mvm-tui" / name) as store:
            store.create_run("old", f"a run in {name}", {}, DEMO, [], created=0.0)
    return tmp_path / "state" / "mvm-tui"


DEMO = Targets(cluster="demo")


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


async def reboot_web01(session: Session) -> None:
    cluster = session.clusters[0]
    await poll_once(cluster)
    vm = next(v for v in cluster.snapshot().vms if v.name == "web-01")
    cluster.create_power_run(vm, PowerAction.REBOOT)


async def test_each_demo_has_a_history_of_its_own(state: Path, tmp_path: Path) -> None:
    before = files(state)
    first = open_session(demo_config(), True, clock=VirtualClock())
    await reboot_web01(first)
    assert [r.title for r in first.store.list_runs()] == ["Reboot web-01"]
    second = open_session(demo_config(), True, clock=VirtualClock())  # started meanwhile
    assert second.store.list_runs() == []
    assert first.store.path.parent != second.store.path.parent
    assert first.store.path.is_relative_to(tmp_path / "tmp")
    own = first.store.path.parent
    await first.close()
    assert not own.exists()  # removed with the process's session
    await second.close()
    third = open_session(demo_config(), True, clock=VirtualClock())  # a later demo
    assert third.store.list_runs() == []
    await third.close()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert files(state) == before  # the operator's History and the old demo store untouched


def test_the_tui_demo_shows_only_its_own_runs(
        state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Path, list[str]]] = []

    def run(app: MvmApp, *args: object, **kwargs: object) -> None:  # instead of the UI
        store = app.executor.store
        seen.append((store.path, [r.title for r in store.list_runs()]))
        store.create_run("demo", "a run of this demo", {}, DEMO, [], created=0.0)

    monkeypatch.setattr(MvmApp, "run", run)
    before = files(state)
    assert cli._run_tui(demo_config(), True, None) == 0
    assert cli._run_tui(demo_config(), True, None) == 0
    assert [titles for _, titles in seen] == [[], []]  # the first demo's run is gone
    assert not any(path.parent.exists() for path, _ in seen)
    assert files(state) == before
