"""Maintenance runs on the simulator: blocked by a pinned VM, then evacuated within the
migration limits, the host marked; leaving brings the VMs back."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.core.maintenance import Blocked, LiveMigrate, MigrationLimits, Remedy, Stay
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunExecutor, RunRecord, RunState, RunStore, StepState
from mvm_tui.services.inventory import InventoryPoller, PollTimers
from mvm_tui.services.maintenance import (
    MaintenanceBlocked,
    MaintenanceRuns,
)

PROGRESS = re.compile(r"^(web-01|db-01): \d+% \(\d+\.\d GiB of \d+\.\d GiB\), dirty \d+\.\d MiB/s$")


@dataclass
class World:
    clock: VirtualClock
    sim: SimBackend
    poller: InventoryPoller
    store: RunStore
    executor: RunExecutor
    runs: MaintenanceRuns
    in_flight_seen: list[int] = field(default_factory=list)

    async def refresh(self) -> None:
        for h in self.sim.hosts:
            await self.poller.poll_host(h.name)

    async def power(self, vm: str, action: PowerAction) -> None:
        await self.sim.vm_power(await self.sim.vm_info(vm), action)
        await self.refresh()

    async def execute(self, run: RunRecord) -> RunRecord:
        """Run it, moving the virtual clock from deadline to deadline and looking at the
        simulator's migrations in flight at every stop."""
        task = asyncio.create_task(self.executor.execute(run.id))
        for _ in range(10_000):
            self.in_flight_seen.append(len(self.sim._migrations))
            if task.done():
                return task.result()
            deadline = self.clock.next_deadline
            if deadline is None:
                await settle()
            else:
                await self.clock.advance(deadline - self.clock.now())
        raise AssertionError("the run did not finish")

    def log(self, run: RunRecord) -> list[str]:
        return [line.text for line in self.store.log(run.id)]


def make_world(tmp_path: Path, limits: MigrationLimits) -> Iterator[World]:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    poller = InventoryPoller(sim, clock, PollTimers())
    store = RunStore(tmp_path / "runs.db")
    executor = RunExecutor(store, clock)
    runs = MaintenanceRuns(
        executor, "demo:", sim, clock, poller.snapshot, migration_limits=limits,
        vm_changed=poller.update_vm,
    )
    yield World(clock, sim, poller, store, executor, runs)
    store.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, MigrationLimits(max_total=1, max_per_host=1))


@pytest.fixture
def wide(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path, MigrationLimits(max_total=4, max_per_host=2))


async def test_registers_its_kinds(world: World) -> None:
    assert world.executor.is_registered("demo:host.maintenance.enter")
    assert world.executor.is_registered("demo:host.maintenance.leave")


async def test_pinned_running_vm_blocks_entry_and_nothing_moves(world: World) -> None:
    await world.refresh()
    plan = world.runs.plan_enter("hv1")
    assert not plan.can_enter
    assert [(b.vm.name, b.reason, b.remedies) for b in plan.blocked] == [
        ("license-srv", "pinned to hv1", (Remedy.OPEN_PLACEMENT, Remedy.POWER_OFF))
    ]
    assert {a.vm.name for a in plan.live} == {"web-01", "db-01"}
    with pytest.raises(MaintenanceBlocked, match="license-srv: pinned to hv1"):
        world.runs.create_enter_run(plan)
    assert world.store.list_runs() == []
    assert sorted(world.sim.vm_names("hv1")) == ["db-01", "license-srv", "web-01"]
    assert not (await world.sim.poll_host("hv1")).maintenance


async def test_evacuates_hv1_once_the_pinned_vm_is_off(world: World) -> None:
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    plan = world.runs.plan_enter("hv1")
    assert plan.can_enter
    # a powered-off pinned VM stays: pinned means never moved, and off it keeps nothing busy
    assert [(type(a), a.vm.name) for a in plan.stays] == [(Stay, "license-srv")]
    targets = {a.vm.name: a.target for a in plan.live}
    assert set(targets) == {"web-01", "db-01"}
    assert "hv1" not in targets.values()

    run = world.runs.create_enter_run(plan)
    steps = world.executor.preview(run.kind, run.params)
    assert [s.title for s in steps] == [
        "Put hv1 in maintenance",
        "Move 2 VMs off hv1 (at most 1 at once, 1 per host)",
    ]
    assert all("virsh -c" in line and "migrate --live" in line for line in steps[1].preview)

    final = await world.execute(run)

    assert final.state is RunState.DONE, final.error
    assert [s.state for s in world.store.steps(run.id)] == [StepState.DONE, StepState.DONE]
    for vm, target in targets.items():
        assert world.sim.where_is(vm) == target
    assert world.sim.where_is("license-srv") == "hv1"
    assert (await world.sim.vm_info("license-srv")).power is PowerState.SHUTOFF
    assert (await world.sim.poll_host("hv1")).maintenance
    assert max(world.in_flight_seen) == 1  # the limit: one at a time
    log = world.log(run)
    assert sum(bool(PROGRESS.match(t)) for t in log) >= 2
    assert any(re.match(r"^web-01: on hv\d after \d+\.\d s, downtime \d+ ms$", t) for t in log)
    assert world.runs.in_flight == []


async def test_migrations_run_in_parallel_within_the_limit(wide: World) -> None:
    await wide.refresh()
    await wide.power("license-srv", PowerAction.POWEROFF)
    run = wide.runs.create_enter_run(wide.runs.plan_enter("hv1"))
    started = wide.clock.now()

    final = await wide.execute(run)

    assert final.state is RunState.DONE, final.error
    assert max(wide.in_flight_seen) == 2  # both at once: hv1 is in both (max_per_host=2)
    # in parallel, it takes about as long as the biggest VM alone (4 GiB at 1.1 GB/s)
    assert wide.clock.now() - started < 6.0


async def test_powered_off_auto_vm_is_cold_moved(world: World) -> None:
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    await world.power("web-01", PowerAction.POWEROFF)
    plan = world.runs.plan_enter("hv1")
    assert [(a.vm.name, a.target != "hv1") for a in plan.cold] == [("web-01", True)]

    final = await world.execute(world.runs.create_enter_run(plan))

    assert final.state is RunState.DONE, final.error
    assert world.sim.where_is("web-01") == plan.cold[0].target
    assert (await world.sim.vm_info("web-01")).power is PowerState.SHUTOFF


async def test_a_vm_started_after_the_preview_stops_the_run_before_the_host_is_marked(
    world: World,
) -> None:
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    run = world.runs.create_enter_run(world.runs.plan_enter("hv1"))
    await world.power("license-srv", PowerAction.START)

    final = await world.execute(run)

    assert final.state is RunState.FAILED
    assert "license-srv is running on hv1" in (final.error or "")
    assert not (await world.sim.poll_host("hv1")).maintenance
    assert "web-01" in world.sim.vm_names("hv1")


async def test_a_failed_migration_fails_the_step_and_a_retry_finishes(world: World) -> None:
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    plan = world.runs.plan_enter("hv1")
    db = next(a for a in plan.live if a.vm.name == "db-01")  # biggest: goes first
    run = world.runs.create_enter_run(plan)
    world.sim.cut_network(db.target)  # the target drops off mid-evacuation

    final = await world.execute(run)
    assert final.state is RunState.FAILED
    assert "db-01" in (final.error or "")
    assert world.sim.where_is("db-01") == "hv1"

    world.sim.restore_host(db.target)
    final = await world.execute(run)
    assert final.state is RunState.DONE, final.error
    assert world.sim.vm_names("hv1") == ["license-srv"]


async def test_leave_maintenance_brings_back_the_vms_that_left(world: World) -> None:
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    await world.execute(world.runs.create_enter_run(world.runs.plan_enter("hv1")))
    await world.refresh()

    back = world.runs.plan_leave("hv1")
    assert sorted(back.vms) == ["db-01", "web-01"]
    assert all(isinstance(m, LiveMigrate) and m.target == "hv1" for m in back.moves)
    run = world.runs.create_leave_run("hv1", back)
    assert [s.title for s in world.executor.preview(run.kind, run.params)] == [
        "Take hv1 out of maintenance",
        "Bring back 2 VMs to hv1 (at most 1 at once, 1 per host)",
    ]

    final = await world.execute(run)

    assert final.state is RunState.DONE, final.error
    assert not (await world.sim.poll_host("hv1")).maintenance
    assert sorted(world.sim.vm_names("hv1")) == ["db-01", "license-srv", "web-01"]


async def test_leave_without_bringing_back_only_clears_the_flag(world: World) -> None:
    await world.sim.set_maintenance("hv2", True)
    run = world.runs.create_leave_run("hv2")
    assert len(world.executor.preview(run.kind, run.params)) == 1
    final = await world.execute(run)
    assert final.state is RunState.DONE
    assert not (await world.sim.poll_host("hv2")).maintenance


async def test_maintenance_host_is_never_a_target(world: World) -> None:
    await world.sim.set_maintenance("hv3", True)
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    plan = world.runs.plan_enter("hv1")
    assert {a.target for a in plan.live} == {"hv2"}
    assert not [a for a in plan.actions if isinstance(a, Blocked)]


async def test_cancelled_mid_migration_is_interrupted_cleanly_and_resumes(world: World) -> None:
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    run = world.runs.create_enter_run(world.runs.plan_enter("hv1"))
    task = asyncio.create_task(world.executor.execute(run.id))
    await world.clock.advance(1.0)  # db-01 (the biggest, first) is on its way
    assert len(world.sim._migrations) == 1
    assert len(world.runs.in_flight) == 1

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert world.store.get_run(run.id).state is RunState.INTERRUPTED
    assert world.sim._migrations == {}
    assert world.runs.in_flight == []
    assert sorted(world.sim.vm_names("hv1")) == ["db-01", "license-srv", "web-01"]
    final = await world.execute(world.store.get_run(run.id))
    assert final.state is RunState.DONE, final.error
    assert world.sim.vm_names("hv1") == ["license-srv"]


async def test_a_move_replans_right_before_it_runs_when_ha_says_its_target_is_lost(
    world: World,
) -> None:
    """Planned while every host was fine; by the time it runs (a retry, say), HA has
    declared the planned target lost though the inventory still shows it: the VM goes to
    another host with room, never the lost one, and the run log says why."""
    await world.refresh()
    await world.power("license-srv", PowerAction.POWEROFF)
    plan = world.runs.plan_enter("hv1")
    targets = {a.vm.name: a.target for a in plan.live}
    lost = targets["db-01"]
    world.runs.unusable = lambda: {lost: "HA: recovered"}
    final = await world.execute(world.runs.create_enter_run(plan))
    assert final.state is RunState.DONE, final.error
    assert world.sim.where_is("db-01") not in ("hv1", lost)
    assert world.sim.where_is("web-01") not in ("hv1", lost)
    assert any(t.startswith(f"db-01: {lost} cannot take it (HA: recovered): moving it to ")
               for t in world.log(final))
