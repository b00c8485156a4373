"""A deleted VM restored from the trash, on the simulator (issue 17). Expected before running:
- web-1 (2 vCPUs, 2 GiB, a root disk, a volume and a seed) deleted, then restored with
  --start: its three images are back in the pool (none left in the trash), its mark is gone,
  it is defined again with the same uuid, size and disks, and runs;
- a restore of a name that was never deleted, or whose name is taken again, is refused with
  the reason and changes nothing;
- a VM made under the name after the restore was planned stops the restore before anything
  comes back from the trash.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from mvm_tui.backends.base import InvalidState
from mvm_tui.clock import VirtualClock
from mvm_tui.core.new_vm import disk_rbd, seed_rbd
from mvm_tui.models import PowerState
from mvm_tui.runs import RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Session, measure
from tests.unit.test_workload_create import WEB, execute, parts

IMAGES = [disk_rbd("web-1", 0), disk_rbd("web-1", 1), seed_rbd("web-1")]


async def made_and_deleted(cluster: Cluster, clock: VirtualClock) -> str:
    made = await execute(cluster, clock, cluster.create_vm_run(
        await cluster.new_vm_params(WEB)))
    assert made.state is RunState.DONE, made.error
    await measure(cluster, 0)
    vm = cluster.vm("web-1")
    deleted = await execute(cluster, clock, cluster.create_delete_run(cluster.delete_params(vm)))
    assert deleted.state is RunState.DONE, deleted.error
    await measure(cluster, 0)
    return vm.uuid


async def test_a_deleted_vm_comes_back_as_it_was(session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    uuid = await made_and_deleted(cluster, clock)
    assert set(w.trashed) == set(IMAGES)
    params = await cluster.restore_params("web-1", start=True)
    assert (params["uuid"], params["images"]) == (uuid, IMAGES)
    titles = [s.title for s in cluster.restore_preview(params)]
    assert titles == ["Bring the disks of web-1 back from the trash",
                      "Clear the deletion mark of web-1", f"Define web-1 on {params['host']}",
                      "Start web-1"]
    run = await execute(cluster, clock, cluster.create_restore_run(params))
    assert run.state is RunState.DONE, run.error
    assert w.trashed == {}
    assert all(i in w.rbd for i in IMAGES)
    assert await w.deleted("web-1") is None
    vm = await sim.vm_info("web-1")
    assert (vm.uuid, vm.vcpus, vm.memory_mb, vm.power) == (uuid, 2, 2048, PowerState.RUNNING)
    assert [d.source for d in vm.disks] == [f"rbd:vms/{i}" for i in IMAGES]


async def test_what_cannot_be_restored_is_refused(session: Session,
                                                  clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    with pytest.raises(InvalidState, match="no deleted VM named web-01"):
        await cluster.restore_params("web-01")
    await made_and_deleted(cluster, clock)
    with pytest.raises(InvalidState, match="nowhere to go: hv9 cannot take VMs now"):
        await cluster.restore_params("web-1", host="hv9")


async def test_a_vm_made_under_the_name_meanwhile_stops_the_restore(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    _, w = parts(cluster)
    await made_and_deleted(cluster, clock)
    run = cluster.create_restore_run(await cluster.restore_params("web-1"))
    other = await cluster.new_vm_params(replace(WEB, volumes_gb=()))
    assert (await execute(cluster, clock, cluster.create_vm_run(other))).state is RunState.DONE
    done = await execute(cluster, clock, run)
    assert done.state is RunState.FAILED
    assert "a VM named web-1 is defined on" in (done.error or "")
    assert set(w.trashed) == set(IMAGES)  # nothing came back
