"""Maintenance mode on the simulated cluster: the preview, the block, the remedies, the run."""

from __future__ import annotations

from dataclasses import replace

from textual.pilot import Pilot

from mvm_tui.models import ClusterSnapshot, HostState, PowerState
from mvm_tui.runs import RunState
from mvm_tui.screens.drill import DrillScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.maintenance import MaintenanceScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import (
    SIZE,
    DemoApp,
    Running,
    advance,
    finish_latest_run,
    first_poll_shown,
    screen_of,
    wait_until,
)


def snapshot(demo: DemoApp) -> ClusterSnapshot:
    return demo.session.clusters[0].snapshot()


def host_state(demo: DemoApp, name: str) -> HostState:
    return next(h.state for h in snapshot(demo).hosts if h.name == name)


async def open_maintenance(demo: DemoApp, pilot: Pilot[None]) -> MaintenanceScreen:
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    await pilot.press("m")  # hv1, the first row
    await wait_until(pilot, lambda: isinstance(demo.app.screen, MaintenanceScreen))
    return screen_of(demo.app, MaintenanceScreen)


async def test_a_pinned_vm_blocks_until_powered_off_then_the_host_is_evacuated(
        running: Running) -> None:
    demo, pilot = running
    screen = await open_maintenance(demo, pilot)
    assert [b.vm.name for b in screen.plan.blocked] == ["license-srv"]
    assert not screen.plan.can_enter
    await pilot.press("y")  # refused: nothing happens
    assert isinstance(demo.app.screen, MaintenanceScreen)
    assert demo.session.store.list_runs() == []
    await pilot.press("f")  # the remedy: power the pinned VM off, with its own confirmation
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")
    await finish_latest_run(pilot, demo)
    await pilot.press("escape")
    await advance(pilot, demo, 2.0)
    await wait_until(
        pilot, lambda: isinstance(demo.app.screen, HostsScreen) and demo.app.up_to_date)

    screen = await open_maintenance(demo, pilot)
    assert screen.plan.can_enter
    moved = {m.vm for m in screen.plan.moves}
    assert moved == {"web-01", "db-01"}
    preview = [c for step in screen.steps for c in step.preview]
    assert any("migrate --live" in c and "web-01" in c for c in preview)
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert run.state is RunState.DONE, run.error
    await advance(pilot, demo, 2.0)
    await wait_until(pilot, lambda: host_state(demo, "hv1") is HostState.MAINTENANCE)
    on_hv1 = {v.name: v.power for v in snapshot(demo).vms if v.host == "hv1"}
    assert on_hv1 == {"license-srv": PowerState.SHUTOFF}  # pinned: stays, powered off

    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    await pilot.press("m")  # leave maintenance: the VMs that left come back
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    consequence = screen_of(demo.app, ConfirmModal).consequence
    assert "web-01" in consequence
    assert "db-01" in consequence
    await pilot.press("y")
    await finish_latest_run(pilot, demo)
    assert demo.session.store.list_runs()[0].state is RunState.DONE
    await advance(pilot, demo, 2.0)
    await wait_until(pilot, lambda: host_state(demo, "hv1") is HostState.ONLINE)
    assert {v.name for v in snapshot(demo).vms if v.host == "hv1"} >= {"web-01", "db-01"}


async def test_cancelling_the_preview_changes_nothing(running: Running) -> None:
    demo, pilot = running
    await open_maintenance(demo, pilot)
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    assert demo.session.store.list_runs() == []
    assert host_state(demo, "hv1") is HostState.ONLINE


async def test_failover_drill_shows_where_every_vm_would_go(running: Running) -> None:
    demo, pilot = running
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    await pilot.press("w")  # hv1: web-01 auto, db-01 failover, license-srv pinned
    await wait_until(pilot, lambda: isinstance(demo.app.screen, DrillScreen))
    report = screen_of(demo.app, DrillScreen).report
    assert {vm for vm, _ in report.restarts} == {"web-01", "db-01"}
    assert all(target in ("hv2", "hv3") for _, target in report.restarts)
    assert [vm for vm, _ in report.stay_down] == ["license-srv"]
    assert report.capacity_ok
    await pilot.press("escape")
    assert demo.session.store.list_runs() == []  # the drill changes nothing
    assert {v.name for v in snapshot(demo).vms if v.host == "hv1"} >= {"web-01", "db-01"}


async def test_the_drill_decides_with_the_clusters_ha_settings(demo: DemoApp) -> None:
    """Without HA running, the drill uses the settings the session built from the config (a
    restart priority puts the smaller web-01 before db-01)."""
    cluster = demo.session.clusters[0]
    cluster.ha_settings = replace(cluster.ha_settings, priorities={"web-01": 10})
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, DrillScreen))
        report = screen_of(demo.app, DrillScreen).report
        assert [vm for vm, _ in report.restarts] == ["web-01", "db-01"]
