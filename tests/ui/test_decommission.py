"""Decommission from the UI on the simulated cluster: the plan (maintenance first, the OSDs,
the checks, every command), the host's name typed to start, the run, and a guard overridden
only with the name typed. Also an unfinished decommission shown and resumed at start-up."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from mvm_tui.app import MvmApp
from mvm_tui.core.capacity import capacity
from mvm_tui.runs import RunState
from mvm_tui.screens.decommission import DecommissionScreen, TypeHostScreen
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.widgets.resource_table import ResourceTable

from .conftest import (
    SIZE,
    DemoApp,
    advance,
    first_poll_shown,
    make_demo,
    screen_of,
    sim_of,
    wait_until,
)


def offered(app: MvmApp, key: str) -> bool:
    """Whether the screen in front offers the key now (shown in the footer, enabled)."""
    active = app.active_bindings.get(key)
    return active is not None and active.enabled


def with_decommissions(tmp_path: Path) -> DemoApp:
    demo = make_demo(tmp_path)
    cluster = demo.session.clusters[0]
    demo.app.decommissions = decommissions_for(demo.session, cluster, None)
    return demo


async def open_plan(demo: DemoApp, pilot: Pilot[None]) -> DecommissionScreen:
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    await pilot.press("down", "down")  # hv3
    await pilot.press("x")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, DecommissionScreen),
                     what="the plan")
    return screen_of(demo.app, DecommissionScreen)


async def test_the_plan_needs_maintenance_then_the_name_typed(tmp_path: Path) -> None:
    demo = with_decommissions(tmp_path)
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        screen = await open_plan(demo, pilot)
        assert screen.plan.host == "hv3"
        assert screen.plan.blockers == ["hv3 is not in maintenance"]
        assert not screen.query(Input)  # nothing to type: it cannot start
        await pilot.press("escape")
        sim = demo.session.clusters[0].backend
        await sim.set_maintenance("hv3", True)
        await advance(pilot, demo, 3.0)
        screen = await open_plan(demo, pilot)
        assert screen.plan.blockers == []
        assert [o.id for o in screen.plan.osds] == [2]
        assert screen.plan.mon == "hv3"
        checks = str(screen.query_one("#decommission-checks", Static).render())
        assert "nearfull at 85%" in checks  # the simulated cluster's `ceph osd dump`
        assert ("⚠ warning: without hv3, 2 monitors are in quorum and 2 are needed: the "
                "cluster can lose no further monitor") in checks
        commands = [c for s in screen.steps for c in s.preview]
        assert "ceph --connect-timeout 10 osd out 2" in commands
        assert "ceph --connect-timeout 10 mon remove hv3" in commands
        yes = screen.query_one("#decommission-yes", Button)
        await pilot.press("h", "v", "2")
        assert yes.disabled
        await pilot.press("backspace", "3")
        assert not yes.disabled
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        run = demo.session.store.list_runs()[0]
        assert run.kind == "demo:ceph.decommission"
        assert run.params["host"] == "hv3"
        for _ in range(900):
            if demo.session.store.get_run(run.id).ended is not None:
                break
            await advance(pilot, demo, 15.0)
        done = demo.session.store.get_run(run.id)
        assert done.state is RunState.DONE, done.error


async def test_a_guard_is_overridden_only_with_the_name_typed(tmp_path: Path) -> None:
    demo = with_decommissions(tmp_path)
    sim = sim_of(demo)
    await sim.set_maintenance("hv3", True)
    async with demo.app.run_test(size=SIZE) as pilot:
        await first_poll_shown(pilot, demo)
        await advance(pilot, demo, 3.0)
        await open_plan(demo, pilot)
        # after the plan (an OSD down leaves too few hosts with an OSD up and in: the plan
        # would block), before the run: HEALTH_WARN, which the run's first guard re-checks
        await sim.systemctl("hv1", "stop", "ceph-osd@0")
        await advance(pilot, demo, 3.0)  # the PG statistics (ok-to-stop's) see it too
        await pilot.press("h", "v", "3", "enter")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        store = demo.session.store
        await wait_until(pilot, lambda: store.list_runs()[0].state is RunState.FAILED,
                         what="the health guard")
        assert "guard 'health'" in (store.list_runs()[0].error or "")
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, TypeHostScreen))
        await pilot.press("h", "v", "2", "enter")  # the wrong name: nothing happens
        assert isinstance(demo.app.screen, TypeHostScreen)
        await pilot.press("backspace", "3", "enter")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        await wait_until(pilot, lambda: "ok-to-stop" in (store.list_runs()[0].error or ""),
                         what="the next guard")
        log = [line.text for line in store.log(store.list_runs()[0].id)]
        assert any("guard overridden by the operator" in line for line in log)


async def test_an_unfinished_decommission_is_resumed_at_start_up(tmp_path: Path) -> None:
    first = with_decommissions(tmp_path)
    sim = first.session.clusters[0].backend
    await sim.set_maintenance("hv3", True)
    decom = first.app.decommissions
    assert decom is not None
    plan = await decom.plan("hv3", in_maintenance=True)
    run = decom.create(plan)  # created, never executed: as if the app died right after
    app = MvmApp(first.session.clusters[0], refresh_delay=0.0, decommissions=decom)
    demo = DemoApp(app, first.clock, first.session)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen),
                         what="the unfinished run shown")
        assert screen_of(app, RunDetailScreen).run_id == run.id
        await wait_until(pilot, lambda: first.session.executor.is_executing(run.id),
                         what="the run resumed")
        detail = HostDetailScreen("hv3")  # left open while the run goes on
        await app.push_screen(detail)
        await wait_until(pilot, lambda: offered(app, "m"), what="Leave maintenance offered")
        for _ in range(900):
            if first.session.store.get_run(run.id).ended is not None:
                break
            await advance(pilot, demo, 15.0)
        assert first.session.store.get_run(run.id).state is RunState.DONE
        # gone from Hosts, Summary and capacity in this session, without a restart
        snap = first.session.clusters[0].snapshot()
        assert [h.name for h in snap.hosts] == ["hv1", "hv2"]
        assert capacity(snap).vcpus_total == 8  # 2 hosts of 4 vCPU left
        # the host detail screen left open offers no Leave maintenance (nor anything else)
        assert app.screen is detail
        await wait_until(pilot, lambda: not offered(app, "m") and not offered(app, "x"),
                         what="no host action offered for hv3")
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(app.screen, HostsScreen))
        await wait_until(pilot, lambda: [r.key for r in app.screen.query_one(
            ResourceTable).rows] == ["hv1", "hv2"], what="hv3 gone from Hosts")
