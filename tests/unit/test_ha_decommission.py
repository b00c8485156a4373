"""Issue 12: a decommissioned host leaves the cluster for HA too. The decommission's last step
(the forget_host of decommissions_for, as the app wires it) tells the backend the host left;
the backend's host list, the inventory poller and the active HA service all hear it: HA checks
it no more, never declares it lost or fences it, and never restarts anything there."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.core.failover import HaSettings, Kind
from mvm_tui.runs import RunExecutor, RunState, RunStore
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.services.ha import HaService
from mvm_tui.services.hosts_follow import follow_hosts
from mvm_tui.services.inventory import PollTimers
from tests.sim_ha import sim_actions

HOST = "hv3"
SETTINGS = HaSettings(check_interval=5.0, check_timeout=4.0, grace_period=30.0)


async def advance(clock: VirtualClock, seconds: float, step: float = 1.0) -> None:
    end = clock.now() + seconds
    while clock.now() < end:
        await clock.advance(min(step, end - clock.now()))
        await settle(50)


async def test_a_decommissioned_host_leaves_ha_too(tmp_path: Path) -> None:
    clock = VirtualClock()
    sim: SimBackend = demo_cluster(clock)
    store = RunStore(tmp_path / "runs.sqlite3")
    executor = RunExecutor(store, clock)
    cluster = Cluster(sim, clock, executor, PollTimers())
    session: Any = SimpleNamespace(clock=clock, executor=executor)
    decom = decommissions_for(session, cluster, None)
    assert decom is not None
    ha = HaService(sim, clock, SETTINGS, executor, sim_actions(sim))
    ha.start()
    try:
        await advance(clock, 2 * SETTINGS.check_interval)
        assert HOST in ha.engine.phases()
        assert any(t.get_name() == f"ha check {HOST}" for t in ha._tasks)

        await sim.set_maintenance(HOST, True)
        plan = await decom.plan(HOST, in_maintenance=True)
        assert plan.blockers == [], plan.blockers
        run = decom.create(plan)
        task = asyncio.ensure_future(executor.execute(run.id))
        waited = 0.0
        while not task.done() and waited < 7200:
            await advance(clock, 5.0)
            waited += 5.0
        record = await task
        assert record.state is RunState.DONE, record.error

        # the one signal reached all three
        assert HOST not in [h.name for h in sim.hosts]
        assert HOST not in [h.name for h in cluster.snapshot().hosts]
        assert HOST not in ha.engine.phases()
        assert not any(t.get_name() == f"ha check {HOST}" for t in ha._tasks)
        assert ha.running
        decided = len(ha.decisions)

        # the operator pulls its power, and another host is lost meanwhile: HA, active and
        # checking the others, declares that one lost and never the decommissioned one
        sim.power_off_host(HOST)
        sim.power_off_host("hv2")
        await advance(clock, 4 * SETTINGS.grace_period)
        after = list(ha.decisions)[decided:]
        assert [d for d in after if d.host == HOST or d.target == HOST] == []
        assert any(d.kind is Kind.LOST and d.host == "hv2" for d in after), after
        assert HOST not in sim.blocklist()
        assert HOST not in {h.name for h in ha.engine.view(clock.now()).hosts}
        fences = [r for r in store.list_runs(limit=1000) if r.kind.endswith("ha.fence")]
        assert [r.params["host"] for r in fences if r.params["host"] == HOST] == []
        assert HOST not in ha.unusable_hosts()
        saved = sim.ha_state or {}
        assert HOST not in saved.get("fenced", {})
    finally:
        await ha.stop()
        store.close()


async def test_the_headless_ha_hears_of_a_decommission_from_the_config(tmp_path: Path) -> None:
    """`mvm-tui ha` runs in a process of its own: the host leaves it when its entry leaves
    the config file (the decommission's last step), through the same host_left signal."""
    clock = VirtualClock()
    sim: SimBackend = demo_cluster(clock)
    store = RunStore(tmp_path / "runs.sqlite3")
    executor = RunExecutor(store, clock)
    ha = HaService(sim, clock, SETTINGS, executor, sim_actions(sim))
    configured: dict[str, set[str]] | None = {sim.name: {"hv1", "hv2", HOST}}
    said: list[str] = []
    follow = asyncio.ensure_future(
        follow_hosts([sim], lambda: configured, clock, SETTINGS.check_interval, said.append))
    ha.start()
    try:
        await advance(clock, 2 * SETTINGS.check_interval)
        configured = None  # being saved: unreadable for now: nothing changes
        await advance(clock, 2 * SETTINGS.check_interval)
        configured = {"other": set()}  # the cluster missing altogether: nothing changes
        await advance(clock, 2 * SETTINGS.check_interval)
        assert HOST in ha.engine.phases()
        assert said == []

        configured = {sim.name: {"hv1", "hv2"}}
        await advance(clock, 2 * SETTINGS.check_interval)
        assert said == [f"{sim.name}: {HOST} left the cluster (no longer in the config): no "
                        "longer checked"]
        assert HOST not in [h.name for h in sim.hosts]
        assert HOST not in ha.engine.phases()
        decided = len(ha.decisions)
        sim.power_off_host(HOST)
        await advance(clock, 4 * SETTINGS.grace_period)
        assert [d for d in list(ha.decisions)[decided:] if d.host == HOST] == []
        assert HOST not in sim.blocklist()
    finally:
        follow.cancel()
        await asyncio.gather(follow, return_exceptions=True)
        await ha.stop()
        store.close()
