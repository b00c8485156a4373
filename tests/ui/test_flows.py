"""Pilot-driven flows on the simulated cluster, as an operator would go through them."""

from __future__ import annotations

from textual.app import App
from textual.command import CommandList
from textual.widgets import HelpPanel, Input, Tab, TabbedContent

from mvm_tui.models import PowerState
from mvm_tui.runs import RunState
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.summary import SummaryScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.vm_table import VmTable

from .conftest import DemoApp, Running, advance, finish_latest_run, screen_of, wait_until


def vm_power(demo: DemoApp, name: str) -> PowerState:
    return next(v.power for v in demo.session.clusters[0].snapshot().vms if v.name == name)


def footer_actions(app: App[None]) -> set[str]:
    return {b.binding.description for b in app.active_bindings.values() if b.enabled and
            b.binding.show}


async def test_opens_on_summary_with_every_host(running: Running) -> None:
    demo, _pilot = running
    assert isinstance(demo.app.screen, SummaryScreen)
    hosts = demo.session.clusters[0].snapshot().hosts
    assert [h.name for h in hosts] == ["hv1", "hv2", "hv3"]
    assert all(h.state == "online" for h in hosts)


async def test_filter_vms_as_you_type(running: Running) -> None:
    demo, pilot = running
    await pilot.press("3")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen), what="VMs screen")
    table = demo.app.screen.query_one(VmTable)
    everything = {r.key for r in table.rows}
    assert len(everything) == len(demo.session.clusters[0].snapshot().vms)
    await pilot.press("slash", "h", "v", "1")
    shown = {r.key for r in table.rows}
    expected = {v.name for v in demo.session.clusters[0].snapshot().vms if v.host == "hv1"}
    assert shown == expected
    assert len(shown) == 3
    await pilot.press("escape")
    assert demo.app.screen.query_one("#vm-filter", Input).value == ""
    assert {r.key for r in table.rows} == everything


async def test_sort_vms_by_column(running: Running) -> None:
    demo, pilot = running
    await pilot.press("3")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen))
    table = demo.app.screen.query_one(VmTable)
    names = [r.key for r in table.rows]
    assert names == sorted(names)
    await pilot.press("s")  # next column: host
    assert table.sort_by == "host"
    hosts = [r.sort_value(1) for r in table.rows]
    assert hosts == sorted(hosts)
    await pilot.press("S")
    assert [r.sort_value(1) for r in table.rows] == sorted(hosts, reverse=True)


async def test_open_a_host_and_its_tabs(running: Running) -> None:
    demo, pilot = running
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostDetailScreen))
    screen = screen_of(demo.app, HostDetailScreen)
    assert screen.host_name == "hv1"
    tabs = screen.query_one(TabbedContent)
    labels = [str(tab.label) for tab in screen.query(Tab)]
    assert labels == ["Summary", "VMs", "Monitoring", "History"]
    host_vms = {r.key for r in screen.query_one(VmTable).rows}
    assert len(host_vms) == 3
    tabs.active = "host-monitoring"
    await pilot.pause()
    await pilot.press("escape")
    assert isinstance(demo.app.screen, HostsScreen)


async def test_power_off_a_vm_and_see_it_in_history(running: Running) -> None:
    demo, pilot = running
    await pilot.press("3", "slash", *"web-01", "enter")
    await wait_until(pilot, lambda: demo.app.screen.query_one(VmTable).cursor_key == "web-01")
    assert "Start" not in footer_actions(demo.app)  # it runs: start is not offered
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    modal = screen_of(demo.app, ConfirmModal)
    preview = [c for step in modal.steps for c in step.preview]
    assert any("destroy" in c and "web-01" in c for c in preview)
    assert vm_power(demo, "web-01") is PowerState.RUNNING  # nothing ran before confirming
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    store = demo.session.store
    await finish_latest_run(pilot, demo)
    run = store.list_runs()[0]
    assert run.title == "Power off web-01"
    assert run.targets.vm == "web-01"
    assert vm_power(demo, "web-01") is PowerState.SHUTOFF
    assert any("shut off" in line.text for line in store.log(run.id))
    await pilot.press("escape", "4")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HistoryScreen))
    rows = demo.app.screen.query_one(ResourceTable).rows
    assert rows[0].cells[2] == "Power off web-01"
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    assert screen_of(demo.app, RunDetailScreen).run_id == run.id


async def test_graceful_shutdown_waits_for_the_guest(running: Running) -> None:
    demo, pilot = running
    await pilot.press("3", "slash", *"web-01", "enter", "d")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")
    store = demo.session.store
    await wait_until(pilot, lambda: bool(store.list_runs()) and
                     store.list_runs()[0].state == RunState.RUNNING, what="run started")
    assert vm_power(demo, "web-01") in (PowerState.RUNNING, PowerState.SHUTTING_DOWN)
    await finish_latest_run(pilot, demo)
    assert store.list_runs()[0].state == RunState.DONE
    assert vm_power(demo, "web-01") is PowerState.SHUTOFF


async def test_cancelled_confirmation_runs_nothing(running: Running) -> None:
    demo, pilot = running
    await pilot.press("3", "slash", *"db-01", "enter", "r")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen))
    assert demo.session.store.list_runs() == []


async def test_start_needs_no_confirmation(running: Running) -> None:
    demo, pilot = running
    stopped = next(v for v in demo.session.clusters[0].snapshot().vms if v.power == "shut off")
    await pilot.press("3", "slash", *stopped.name, "enter")
    await wait_until(pilot, lambda: demo.app.screen.query_one(VmTable).cursor_key == stopped.name)
    assert {"Start"} <= footer_actions(demo.app)
    assert not {"Shut down", "Power off", "Reboot"} & footer_actions(demo.app)
    await pilot.press("u")
    store = demo.session.store
    await finish_latest_run(pilot, demo)
    assert store.list_runs()[0].state == RunState.DONE
    assert vm_power(demo, stopped.name) is PowerState.RUNNING


async def test_vm_detail_tabs(running: Running) -> None:
    demo, pilot = running
    await pilot.press("3", "slash", *"web-01", "enter", "enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen))
    labels = [str(tab.label) for tab in demo.app.screen.query(Tab)]
    assert labels == ["Summary", "Disks", "NICs", "Metrics", "History"]
    disks = demo.app.screen.query_one("#vm-disk-table", ResourceTable).rows
    assert disks
    assert disks[0].key == "vda"


async def test_command_palette_reaches_screens(running: Running) -> None:
    demo, pilot = running
    await pilot.press("ctrl+p")
    await pilot.press(*"Go to Hosts")
    # The palette searches in a worker: wait for its answer before choosing it.
    await wait_until(pilot, lambda: any("Go to Hosts" in str(o.prompt) for o in
                                        demo.app.screen.query_one(CommandList)._options))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen), what="hosts")


async def test_question_mark_shows_the_keys(running: Running) -> None:
    demo, pilot = running
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: bool(demo.app.screen.query(HelpPanel)))
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: not demo.app.screen.query(HelpPanel))


async def test_metrics_refresh_live(running: Running) -> None:
    demo, pilot = running
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    table = demo.app.screen.query_one(ResourceTable)
    before = [r.cells[4] for r in table.rows]
    refreshes = demo.app.refreshes
    await advance(pilot, demo, 2.0)
    await wait_until(pilot, lambda: demo.app.refreshes > refreshes and demo.app.up_to_date)
    after = [r.cells[4] for r in table.rows]
    assert before != after
