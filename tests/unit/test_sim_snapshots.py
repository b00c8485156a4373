"""Snapshots of VMs on the simulator, as Runs (issue 19). Expected before running:
- the demo starts with db-01's two snapshots (both disks, frozen) and ci-runner-01's one
  (stopped); the other VMs have none;
- a take records its name, the clock's time, its disks' sizes and its consistency: "frozen"
  for a running VM with an agent, "crash" for license-srv (ignores ACPI: no agent), "stopped"
  for a shut-off VM; its preview is the real backend's (the freeze script for a running VM);
- a revert is refused while the VM runs (nothing rolled back), done once it is shut off;
- a delete removes it; deleting or reverting a missing snapshot is NotFound;
- a snapshot follows its VM's rename (it lives with the RBD images).
"""

from __future__ import annotations

import asyncio

import pytest

from mvm_tui.backends.base import InvalidState, NotFound
from mvm_tui.backends.sim import SimBackend
from mvm_tui.backends.sim.snapshots import SimSnapshots
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunRecord, RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Session, measure

DAY = 86400.0


def snaps_of(cluster: Cluster) -> SimSnapshots:
    sim = cluster.backend
    assert isinstance(sim, SimBackend)
    s = sim.snapshots()
    assert s is not None
    return s


async def execute(cluster: Cluster, clock: VirtualClock, run: RunRecord) -> RunRecord:
    task = asyncio.create_task(cluster.execute(run.id))
    for _ in range(100):
        await settle()
        if task.done():
            break
        await clock.advance(1.0)
    return await task


async def test_the_demo_starts_with_snapshots(session: Session, clock: VirtualClock) -> None:
    c = session.clusters[0]
    db = await c.snapshots.of(c.vm("db-01"))
    assert [(s.name, s.consistency, s.disks, s.complete) for s in db] == [
        ("before-pg16", "frozen", ("db-01", "db-01-disk1"), True),
        ("weekly", "frozen", ("db-01", "db-01-disk1"), True)]
    assert db[0].taken == clock.now() - 9 * DAY
    assert db[0].size_bytes == (60 + 100) * 2**30
    ci = await c.snapshots.of(c.vm("ci-runner-01"))
    assert [(s.name, s.consistency) for s in ci] == [("clean-install", "stopped")]
    assert await c.snapshots.of(c.vm("web-01")) == []


@pytest.mark.parametrize(("vm", "consistency"), [
    ("web-01", "frozen"), ("license-srv", "crash"), ("ci-runner-01", "stopped")])
async def test_a_take_records_its_consistency(session: Session, clock: VirtualClock, vm: str,
                                              consistency: str) -> None:
    c = session.clusters[0]
    params = await c.snapshots.params("take", c.vm(vm), "s1")
    steps = c.snapshots.preview("take", params)
    preview = "\n".join(steps[0].preview)
    if consistency == "stopped":
        assert preview.startswith(f"hv{1 if vm != 'ci-runner-01' else 3}: rbd snap create "
                                  f"vms/{vm}@s1")
    else:
        assert "domfsfreeze" in preview
        assert "trap finish EXIT" in preview
    await clock.advance(5)
    start = clock.now()
    record = await execute(c, clock, c.snapshots.create_run("take", params))
    assert record.state is RunState.DONE, record.error
    taken = [s for s in await c.snapshots.of(c.vm(vm)) if s.name == "s1"]
    assert [(s.consistency, s.complete) for s in taken] == [(consistency, True)]
    assert taken[0].taken == start  # (the run takes it at once)
    assert taken[0].size_bytes == sum(d.size_gb for d in c.vm(vm).disks) * 2**30


async def test_a_revert_waits_for_the_vm_to_be_shut_off(session: Session,
                                                         clock: VirtualClock) -> None:
    c = session.clusters[0]
    sim = c.backend
    with pytest.raises(InvalidState, match="shut it down"):
        await c.snapshots.params("revert", c.vm("db-01"), "weekly")
    s = snaps_of(c)
    with pytest.raises(InvalidState, match="running"):
        await s.revert("hv1", "db-01", ["db-01", "db-01-disk1"], "weekly")
    # planned while shut off, started again before the run: the run refuses
    await sim.vm_power(c.vm("db-01"), PowerAction.POWEROFF)
    await measure(c, 0)
    params = await c.snapshots.params("revert", c.vm("db-01"), "weekly")
    assert c.snapshots.preview("revert", params)[0].preview == (
        "hv1: rbd snap rollback --no-progress vms/db-01@weekly",
        "hv1: rbd snap rollback --no-progress vms/db-01-disk1@weekly")
    await sim.vm_power(c.vm("db-01"), PowerAction.START)
    record = await execute(c, clock, c.snapshots.create_run("revert", params))
    assert record.state is RunState.FAILED
    assert "not rolled back while it runs" in (record.error or "")
    await sim.vm_power(c.vm("db-01"), PowerAction.POWEROFF)
    record = await execute(c, clock, c.snapshots.create_run("revert", params))
    assert record.state is RunState.DONE, record.error
    with pytest.raises(NotFound):
        await s.revert("hv1", "db-01", ["db-01"], "nothing")


async def test_a_delete_removes_it(session: Session, clock: VirtualClock) -> None:
    c = session.clusters[0]
    params = await c.snapshots.params("delete", c.vm("db-01"), "before-pg16")
    assert c.snapshots.preview("delete", params)[0].preview[-1] == (
        "hv1: rbd image-meta remove vms/db-01 mvm.snap.before-pg16")
    record = await execute(c, clock, c.snapshots.create_run("delete", params))
    assert record.state is RunState.DONE, record.error
    assert [s.name for s in await c.snapshots.of(c.vm("db-01"))] == ["weekly"]
    with pytest.raises(NotFound):
        await snaps_of(c).delete("hv1", "db-01", ["db-01", "db-01-disk1"], "before-pg16")
    with pytest.raises(ValueError, match="no snapshot named before-pg16"):
        await c.snapshots.params("delete", c.vm("db-01"), "before-pg16")


async def test_a_snapshot_follows_its_vm_renamed(session: Session,
                                                 clock: VirtualClock) -> None:
    c = session.clusters[0]
    params = await c.rename_params(c.vm("ci-runner-01"), "ci-01")
    record = await execute(c, clock, c.create_rename_run(params))
    assert record.state is RunState.DONE, record.error
    await measure(c, 0)
    vm = c.vm("ci-01")
    assert vm.power is PowerState.SHUTOFF
    assert [s.name for s in await c.snapshots.of(vm)] == ["clean-install"]


async def test_a_take_cut_short_is_finished_by_its_retry(session: Session,
                                                        clock: VirtualClock) -> None:
    """db-01 has two disks; an earlier attempt of the run left the snapshot on the first only
    (the process died between the two): the run, executed again, removes that half and takes
    it whole; a revert to such a half snapshot is refused at the plan."""
    c = session.clusters[0]
    vm = c.vm("db-01")
    params = await c.snapshots.params("take", vm, "half")
    run = c.snapshots.create_run("take", params)
    await snaps_of(c).take(params["host"], "db-01", params["images"][:1], "half", True)
    (half,) = [s for s in await c.snapshots.of(vm) if s.name == "half"]
    assert not half.complete
    with pytest.raises(InvalidState, match="only some disks"):
        await c.snapshots.params("revert", vm, "half")
    record = await execute(c, clock, run)
    assert record.state is RunState.DONE, record.error
    (whole,) = [s for s in await c.snapshots.of(vm) if s.name == "half"]
    assert whole.complete
    assert any("removed: taken again" in line.text for line in session.store.log(run.id))


async def test_a_group_snapshot_of_several_vms_at_one_instant(session: Session,
                                                             clock: VirtualClock) -> None:
    """db-01 (runs, agent: frozen, two disks), license-srv (runs, no agent: paused for it,
    crash) and ci-runner-01 (shut off: stopped) at one instant, on two hosts; its preview
    freezes on each host, snapshots every disk, thaws on each host; a second one of the same
    name, one VM alone or a VM twice are refused at the plan."""
    c = session.clusters[0]
    vms = [c.vm(v) for v in ("db-01", "license-srv", "ci-runner-01")]
    params = await c.snapshots.group_params(vms, "release-1")
    (step,) = c.snapshots.group_preview(params)
    hosts = {m["host"] for m in params["members"]}
    assert len(hosts) >= 2
    assert sum("domfsfreeze" in line for line in step.preview) == len(hosts)
    assert sum("kill -- -" in line for line in step.preview) == len(hosts)  # (each thaw)
    assert sum(line.count("rbd snap create") for line in step.preview) == 4  # (every disk)
    record = await execute(c, clock, c.snapshots.create_group_run(params))
    assert record.state is RunState.DONE, record.error
    assert session.store.notes(record.id)["consistency"] == {
        "db-01": "frozen", "license-srv": "crash", "ci-runner-01": "stopped"}
    for vm in vms:
        (snap,) = [s for s in await c.snapshots.of(vm) if s.name == "release-1"]
        assert snap.complete
        assert snap.taken == record.started  # (the same instant for all)
    with pytest.raises(ValueError, match="already"):
        await c.snapshots.group_params(vms, "release-1")
    with pytest.raises(ValueError, match="two VMs or more"):
        await c.snapshots.group_params(vms[:1], "x")
    with pytest.raises(ValueError, match="named twice"):
        await c.snapshots.group_params([vms[0], vms[1], vms[0]], "x")
