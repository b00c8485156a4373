"""The TUI on the real lab (Pilot): every screen shows real hosts, and a VM power action goes
from the key press through the confirmation to History."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from mvm_tui.app import MvmApp
from mvm_tui.models import HostState, PowerState
from mvm_tui.runs import RunState
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.session import Session
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.vm_table import VmTable
from tests.lab.placing import put_running_on
from tests.ui.conftest import SIZE, screen_of, wait_until

pytestmark = pytest.mark.lab


@pytest.fixture
async def ui(lab_session: Session) -> AsyncIterator[tuple[MvmApp, Pilot[None]]]:
    # the tests expect the lab's first placement, whatever earlier tests left (one CI run
    # found tiny-b on h1 after the soak)
    for vm, host in (("tiny-a", "h1"), ("tiny-b", "h2")):
        await put_running_on(lab_session.clusters[0].backend, vm, host)
    app = MvmApp(lab_session.clusters[0], prompts=lab_session.prompts)
    async with app.run_test(size=SIZE) as pilot:
        cluster = lab_session.clusters[0]
        await wait_until(pilot, lambda: app.up_to_date and all(
            h.state is HostState.ONLINE for h in cluster.snapshot().hosts), timeout=60,
            what="every lab host online")
        yield app, pilot


def power(app: MvmApp, vm: str) -> PowerState:
    return next(v.power for v in app.cluster.snapshot().vms if v.name == vm)


async def test_screens_show_the_real_hosts(ui: tuple[MvmApp, Pilot[None]]) -> None:
    app, pilot = ui
    screen = app.export_screenshot()
    assert all(f"10.213.0.1{i}" in screen for i in (1, 2, 3))
    await wait_until(pilot, lambda: app.cluster.snapshot().ceph is not None, timeout=30)
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(app.screen, HostsScreen))
    rows = app.screen.query_one(ResourceTable).rows
    assert [r.key for r in rows] == ["h1", "h2", "h3"]
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, HostDetailScreen))
    assert "tiny-a" in {r.key for r in app.screen.query_one(VmTable).rows}
    app.screen.query_one(TabbedContent).active = "host-monitoring"
    await pilot.pause()
    await pilot.press("escape", "3", "slash", *"tiny", "enter")
    await wait_until(pilot, lambda: isinstance(app.screen, VmsScreen))
    assert {r.key for r in app.screen.query_one(VmTable).rows} >= {"tiny-a", "tiny-b"}
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, VmDetailScreen))


async def test_power_off_and_start_through_the_ui(ui: tuple[MvmApp, Pilot[None]],
                                                  lab_session: Session) -> None:
    app, pilot = ui
    store = lab_session.store
    await pilot.press("3", "slash", *"tiny-b", "enter")
    await wait_until(pilot, lambda: app.screen.query_one(VmTable).cursor_key == "tiny-b")
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
    preview = [c for step in screen_of(app, ConfirmModal).steps for c in step.preview]
    assert any("destroy" in c and "tiny-b" in c and "10.213.0.12" in c for c in preview)
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
    await wait_until(pilot, lambda: store.list_runs()[0].finished, timeout=60, what="power off")
    assert store.list_runs()[0].state is RunState.DONE
    await wait_until(pilot, lambda: power(app, "tiny-b") is PowerState.SHUTOFF, timeout=10)
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, VmsScreen))
    await pilot.press("u")
    await wait_until(pilot, lambda: len(store.list_runs()) == 2 and store.list_runs()[0].finished,
                     timeout=60, what="start")
    assert store.list_runs()[0].state is RunState.DONE
    await wait_until(pilot, lambda: power(app, "tiny-b") is PowerState.RUNNING, timeout=10)
    await pilot.press("escape", "4")
    await wait_until(pilot, lambda: isinstance(app.screen, HistoryScreen))
    titles = [r.cells[2] for r in app.screen.query_one(ResourceTable).rows]
    assert titles[:2] == ["Start tiny-b", "Power off tiny-b"]


async def test_live_migration_through_the_dialog(ui: tuple[MvmApp, Pilot[None]],
                                                 lab_session: Session) -> None:
    app, pilot = ui
    store = lab_session.store
    await pilot.press("3", "slash", *"tiny-a", "enter")
    await wait_until(pilot, lambda: app.screen.query_one(VmTable).cursor_key == "tiny-a")
    await pilot.press("p")
    await wait_until(pilot, lambda: bool(app.screen.query("#host-h2")))
    await pilot.click("#host-h2")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
    preview = [c for step in screen_of(app, ConfirmModal).steps for c in step.preview]
    assert any("migrate --live --p2p" in c and "10.213.0.12" in c for c in preview)
    await pilot.press("y")
    await wait_until(pilot, lambda: bool(store.list_runs()) and store.list_runs()[0].finished,
                     timeout=90, what="the migration run")
    run = store.list_runs()[0]
    assert (run.title, run.state) == ("Migrate tiny-a to h2", RunState.DONE), run.error
    assert any("downtime" in line.text for line in store.log(run.id))
    assert (await app.cluster.backend.vm_info("tiny-a")).host == "h2"
    await app.cluster.backend.migrate("tiny-a", "h1")  # as the other tests expect it
