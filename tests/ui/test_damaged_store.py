"""The TUI on a damaged run store: it starts, says which file and what to do (a notification,
Summary and History), refuses every action with that reason, and leaves the file as it is.
A run with bad JSON shows in History as unreadable and cannot be retried."""

from __future__ import annotations

import hashlib
import html
import re
import sqlite3
from pathlib import Path

from mvm_tui.app import MvmApp
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.runs import RunStore, Step, StepContext, Targets
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.session import open_session

from .conftest import SIZE, screen_of, wait_until


def screen_text(app: MvmApp) -> str:
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_store_that_is_not_a_database_refuses_every_action(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"PK\x03\x04 a zip file, say\n" * 100)
    before = digest(path)
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=path)
    assert session.store_damage is not None
    cluster = session.clusters[0]
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts,
                 decommissions=decommissions_for(session, cluster, None),
                 runs_refused=str(session.store_damage))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: cluster.poller.polls_done >= 3 and app.up_to_date)
        said = [n.message for n in app._notifications]
        assert len(said) == 1
        assert str(path) in said[0]
        assert "not an SQLite database" in said[0]
        assert "move it aside" in said[0]
        assert "every action is refused" in said[0]
        await pilot.pause()
        assert "ACTIONS ARE OFF" in screen_text(app)
        app.clear_notifications()

        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(app.screen, VmsScreen))
        await pilot.pause()
        for key in ("f", "d", "r", "p"):  # web-01 runs: power off, shut down, reboot, placement
            await pilot.press(key)
            await wait_until(pilot, lambda: bool(app._notifications), what=f"{key} refused")
            assert isinstance(app.screen, VmsScreen), key  # no dialog opened
            (refusal,) = [n.message for n in app._notifications]
            assert refusal.startswith("Nothing was done: the run history")
            assert str(path) in refusal
            app.clear_notifications()
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(app.screen, HostsScreen))
        for key in ("m", "x"):  # maintenance, decommission
            await pilot.press(key)
            await wait_until(pilot, lambda: bool(app._notifications), what=f"{key} refused")
            assert isinstance(app.screen, HostsScreen), key
            app.clear_notifications()
        app.action_new_cluster()
        app.action_add_worker()
        await pilot.pause()
        assert isinstance(app.screen, HostsScreen)
        assert len(app._notifications) == 2
        await pilot.press("w")  # the drill changes nothing: it is offered
        await wait_until(pilot, lambda: not isinstance(app.screen, HostsScreen), what="drill")
        await pilot.press("escape", "4")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause()
        banner = str(app.screen.query_one("#history-refused").render())
        assert str(path) in banner
        assert "every action is refused" in banner
        assert "runs.sqlite3" in screen_text(app)
        assert app.is_running
    assert session.store.list_runs() == []
    assert digest(path) == before
    session.executor.close()
    session.store.close()


async def _noop(ctx: StepContext) -> None:
    return None


async def _yes(ctx: StepContext) -> bool:
    return True


async def test_a_run_with_bad_json_is_unreadable_in_history_and_not_retried(
        tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    with RunStore(path) as store:
        for vm in ("web-01", "db-01"):
            store.create_run("demo:vm.power", f"Power off {vm}", {"vm": vm, "host": "hv1",
                             "action": "poweroff"}, Targets("demo", "hv1", vm),
                             [Step(f"Power off {vm}", ("virsh destroy x",), _noop, _yes)],
                             created=1.0)
    db = sqlite3.connect(path)
    db.execute("UPDATE runs SET params = '{\"vm\": ', state = 'failed' WHERE id = 2")
    db.execute("UPDATE runs SET state = 'failed' WHERE id = 1")
    db.commit()
    db.close()
    session = open_session(demo_config(), demo=True, clock=VirtualClock(), db_path=path)
    assert session.store_damage is None  # the store is fine; one run cannot be read
    cluster = session.clusters[0]
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.pause()
        assert re.search(r"Power off db-01 .*unreadable", screen_text(app))
        await pilot.press("enter")  # the newest first: run 2
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause()
        assert screen_of(app, RunDetailScreen).run_id == 2
        assert "cannot be retried" in screen_text(app)
        active = app.active_bindings.get("r")
        assert active is None or not active.enabled
        await pilot.press("r")
        await pilot.pause()
        assert not app.executor.is_executing(2)
        await pilot.press("escape", "down", "enter")  # run 1 can be retried
        await wait_until(pilot, lambda: getattr(app.screen, "run_id", None) == 1)
        active = app.active_bindings.get("r")
        assert active is not None
        assert active.enabled
    await session.close()
