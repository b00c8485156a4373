"""The decommission Run on the simulator (its Ceph answers in real Ceph's JSON): end to end,
every guard, and a kill at every step followed by a resume that re-checks instead of redoing."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TypeVar

import pytest

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ceph import commands as c
from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.backends.sim.clusters import demo_spec
from mvm_tui.clock import VirtualClock
from mvm_tui.runs import RunExecutor, RunRecord, RunState, RunStore, StepChanged, StepState
from mvm_tui.services.decommission_runs import Decommissions

T = TypeVar("T")
HOST = "hv3"


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = VirtualClock()
        self.sim: SimBackend = demo_cluster(self.clock)
        self.db = tmp_path / "runs.sqlite3"
        self.forgotten: list[str] = []
        self.executor = RunExecutor(RunStore(self.db), self.clock)
        self.decom = self.decommissions(self.executor)

    def decommissions(self, executor: RunExecutor) -> Decommissions:
        async def forget(host: str) -> None:
            self.forgotten.append(host)

        return Decommissions(self.sim, self.clock, executor, forget,
                             lambda h: h not in self.forgotten, interval=2.0,
                             wait_limit=3600.0)

    async def drive(self, task: asyncio.Future[T], limit: float = 3600.0) -> T:
        waited = 0.0
        while not task.done() and waited < limit:
            await self.clock.advance(5.0)
            waited += 5.0
        return await task

    async def started(self) -> RunRecord:
        await self.sim.set_maintenance(HOST, True)
        plan = await self.decom.plan(HOST, in_maintenance=True)
        assert plan.blockers == [], plan.blockers
        return self.decom.create(plan)

    async def ceph_end_state(self) -> tuple[str, int, int]:
        r = await self.sim.ceph(c.status())
        s = ceph.parse_status(r.stdout)
        return s.health, s.num_mons, s.num_osds


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


async def test_a_host_is_decommissioned_end_to_end(world: World) -> None:
    run = await world.started()
    steps = world.executor.store.steps(run.id)
    assert [s.title for s in steps][:4] == [
        "Cluster health is HEALTH_OK", "osd.2: ok to stop", "osd.2: mark out",
        "osd.2: wait for the data to move off it"]
    assert "ceph --connect-timeout 10 osd out 2" in steps[2].preview
    done = await world.drive(asyncio.ensure_future(world.executor.execute(run.id)))
    assert done.state is RunState.DONE, done.error
    assert await world.ceph_end_state() == ("HEALTH_OK", 2, 2)
    assert world.forgotten == [HOST]
    log = [line.text for line in world.executor.store.log(run.id)]
    assert any(line.startswith("osd.2 out at osdmap epoch") for line in log)
    for h in ("hv1", "hv2"):
        assert "192.0.2.13" not in await world.sim.mon_host(h)


async def test_not_in_maintenance_nothing_starts(world: World) -> None:
    plan = await world.decom.plan(HOST, in_maintenance=False)
    assert plan.blockers == [f"{HOST} is not in maintenance"]
    with pytest.raises(BackendError, match="not in maintenance"):
        world.decom.create(plan)


async def test_unhealthy_cluster_stops_at_the_first_guard_and_an_override_needs_the_name(
    world: World,
) -> None:
    run = await world.started()
    await world.sim.systemctl("hv1", "stop", "ceph-osd@0")  # HEALTH_WARN: an OSD down
    failed = await world.drive(asyncio.ensure_future(world.executor.execute(run.id)), 60)
    assert failed.state is RunState.FAILED
    assert "guard 'health'" in (failed.error or "")
    states = [s.state for s in world.executor.store.steps(run.id)]
    assert states[0] is StepState.FAILED
    assert set(states[1:]) == {StepState.PENDING}
    tree = ceph.parse_osd_tree((await world.sim.ceph(c.osd_tree())).stdout)
    assert all(n.reweight != 0 for n in tree.nodes if n.type == "osd")  # nothing marked out
    with pytest.raises(BackendError, match="type the host's name"):
        world.decom.override(failed, "health", "hv2")
    world.decom.override(failed, "health", HOST)
    again = await world.drive(asyncio.ensure_future(world.executor.execute(run.id)), 30)
    # past the overridden health gate the next guard holds: with osd.0 down, stopping osd.2
    # would take PGs offline
    assert again.state is RunState.FAILED
    assert "guard 'ok-to-stop'" in (again.error or "")
    assert [s.state for s in world.executor.store.steps(run.id)][:2] == [
        StepState.DONE, StepState.FAILED]


async def test_the_osd_service_is_never_stopped_while_it_holds_data(world: World) -> None:
    run = await world.started()
    steps = world.decom.steps.build(run.params)
    from mvm_tui.runs import StepContext

    ctx = StepContext(run.id, 3, world.clock)
    await steps[2].action(ctx)  # osd out: the data starts moving
    with pytest.raises(BackendError, match="guard 'safe-to-destroy'"):
        await steps[4].action(ctx)  # stop it right away: refused
    r = await world.sim.systemctl(HOST, "is-active", "ceph-osd@2")
    assert r.exit_status == 0  # still running


async def test_no_monitor_is_removed_if_quorum_would_be_lost(world: World) -> None:
    run = await world.started()
    await world.sim.systemctl("hv1", "stop", "ceph-mon@hv1")
    await world.clock.advance(20.0)  # the others notice: hv1 is out of the quorum
    steps = world.decom.steps.build(run.params)
    from mvm_tui.runs import StepContext

    mon_stop = next(i for i, s in enumerate(steps) if s.title.startswith("monitor"))
    with pytest.raises(BackendError, match="guard 'quorum'"):
        await world.drive(asyncio.ensure_future(
            steps[mon_stop].action(StepContext(run.id, mon_stop, world.clock))), 60)
    assert (await world.sim.systemctl(HOST, "is-active", "ceph-mon@hv3")).exit_status == 0


async def test_killed_at_every_step_it_resumes_to_the_same_end(tmp_path: Path) -> None:
    probe = World(tmp_path)
    total = len(probe.executor.store.steps((await probe.started()).id))
    assert total == 15  # health; 6 for its one OSD; 3 for its monitor; bucket, mon_host,
    # the OSD's key and id, final health, the config
    interrupted = 0
    for kill_at in range(total):
        w = World(tmp_path / f"kill{kill_at}")
        run = await w.started()
        task = asyncio.ensure_future(w.executor.execute(run.id))

        def kill(event: object, k: int = kill_at, rid: int = run.id,
                 t: asyncio.Future[RunRecord] = task) -> None:
            # the app dies in the middle of step k: at its next await
            if isinstance(event, StepChanged) and event.step.run_id == rid and \
                    event.step.index == k and event.step.state is StepState.RUNNING:
                t.cancel()

        w.executor.subscribe(kill)
        with pytest.raises(asyncio.CancelledError):
            await w.drive(task)
        # killed at its next await; a last step that never waits ends the run first
        state = w.executor.store.get_run(run.id).state
        assert state is RunState.INTERRUPTED or (state is RunState.DONE and kill_at == total - 1)
        interrupted += state is RunState.INTERRUPTED
        # a new process: the same store, a new executor
        executor = RunExecutor(RunStore(w.db), w.clock)
        w.decommissions(executor)
        executor.recover()
        done = await w.drive(asyncio.ensure_future(executor.execute(run.id)))
        assert done.state is RunState.DONE, (kill_at, done.error)
        assert await w.ceph_end_state() == ("HEALTH_OK", 2, 2), kill_at
        assert w.forgotten == [HOST]
    assert interrupted >= total - 1


@pytest.mark.parametrize(("nearfull", "fits"), [(0.85, True), (0.05, False)])
async def test_the_plan_takes_the_nearfull_ratio_from_the_cluster(
    tmp_path: Path, nearfull: float, fits: bool
) -> None:
    world = World(tmp_path)
    world.sim = SimBackend(dataclasses.replace(demo_spec(), nearfull_ratio=nearfull),
                           world.clock, seed=7)
    decom = world.decommissions(RunExecutor(RunStore(tmp_path / "other.sqlite3"), world.clock))
    dump = ceph.parse_osd_dump((await world.sim.ceph(c.osd_dump())).stdout)
    assert dump.nearfull_ratio == nearfull  # what `ceph osd dump` says on this cluster
    plan = await decom.plan(HOST, in_maintenance=True)
    assert plan.checks[0].ok is fits
    assert plan.checks[0].detail.endswith(f"(nearfull at {nearfull:.0%})")
