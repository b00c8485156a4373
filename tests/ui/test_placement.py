"""Manage Placement on the simulated cluster: strategy changes and live migration as Runs."""

from __future__ import annotations

from dataclasses import replace

from textual.pilot import Pilot
from textual.widgets import ProgressBar, RadioButton

from mvm_tui.core.placement import rooms
from mvm_tui.models import Placement, Vm
from mvm_tui.runs import RunState
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.placement import PlacementScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.vm_table import VmTable

from .conftest import DemoApp, Running, advance, finish_latest_run, screen_of, wait_until


def vm(demo: DemoApp, name: str) -> Vm:
    return next(v for v in demo.session.clusters[0].snapshot().vms if v.name == name)


async def open_placement(demo: DemoApp, pilot: Pilot[None], name: str) -> None:
    await pilot.press("3", "slash", *name, "enter")
    await wait_until(pilot, lambda: demo.app.screen.query_one(VmTable).cursor_key == name)
    await pilot.press("p")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, PlacementScreen))


async def test_live_migration_through_the_dialog(running: Running) -> None:
    demo, pilot = running
    await open_placement(demo, pilot, "db-01")
    await pilot.click("#host-hv3")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    preview = [c for step in screen_of(demo.app, ConfirmModal).steps for c in step.preview]
    assert any("migrate --live" in c and "db-01" in c and "192.0.2.13" in c for c in preview)
    assert vm(demo, "db-01").host == "hv1"  # nothing moved before confirming
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    screen = demo.app.screen
    await advance(pilot, demo, 2.0)
    await wait_until(pilot, lambda: screen.query_one("#run-progress").has_class("-active"),
                     what="the progress bar")
    assert 0 < screen.query_one(ProgressBar).progress < 100
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert (run.title, run.state) == ("Migrate db-01 to hv3", RunState.DONE)
    log = [line.text for line in demo.session.store.log(run.id)]
    assert any("downtime" in line for line in log)
    moved = vm(demo, "db-01")
    assert (moved.host, moved.placement, moved.home_host) == ("hv3", Placement.FAILOVER, "hv3")
    await pilot.press("escape", "4")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HistoryScreen))
    assert demo.app.screen.query_one(ResourceTable).rows[0].cells[2] == "Migrate db-01 to hv3"


async def test_a_strategy_change_needs_no_migration(running: Running) -> None:
    demo, pilot = running
    await open_placement(demo, pilot, "web-01")
    await pilot.click("#strategy-pinned")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    assert demo.session.store.list_runs()[0].state is RunState.DONE
    await wait_until(pilot, lambda: vm(demo, "web-01").placement is Placement.PINNED)
    assert (vm(demo, "web-01").host, vm(demo, "web-01").home_host) == ("hv1", "hv1")


async def test_a_host_without_room_cannot_be_chosen(running: Running) -> None:
    demo, pilot = running
    snap = demo.session.clusters[0].snapshot()
    room = rooms(snap)
    db = vm(demo, "db-01")
    room["hv2"] = replace(room["hv2"], memory_used_mb=room["hv2"].memory_mb - db.memory_mb + 1)
    demo.app.push_screen(PlacementScreen(db, ["hv1", "hv2", "hv3"], room))
    await wait_until(pilot, lambda: bool(demo.app.screen.query("#host-hv2")))
    assert demo.app.screen.query_one("#host-hv2").disabled
    assert "no room" in str(demo.app.screen.query_one("#host-hv2", RadioButton).label)
    assert not demo.app.screen.query_one("#host-hv3").disabled
    await pilot.press("escape")
    assert demo.session.store.list_runs() == []
