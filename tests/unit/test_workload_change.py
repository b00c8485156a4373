"""Changing a VM as a Run, on the simulator (issue 17). Expected before running, for the demo's
web-01 (running on hv1, 1 vCPU of at most 4, 2048 MiB of at most 8192):
- 2 vCPUs and 2560 MiB: two live steps; the VM has them at once, nothing pending;
- 6 vCPUs: one step writing its definition; pending restart until it is powered off and
  started, then it has 6;
- a growth its host has no room for is refused when planned, and, if the host fills up after
  the plan, by the step itself (nothing changed);
- a retried resize whose module was added does not add a second one;
- a disk added is made and attached as vdb; grown, its image is bigger; removed, it is gone
  from the VM and its image is in the trash, not deleted;
- a NIC added on a cluster VLAN has a new MAC; removed by its VLAN, it is gone; a VLAN the
  cluster does not have is refused;
- a VM replaced by another of the same name after the plan is never changed.
"""

from __future__ import annotations

import pytest

from mvm_tui.backends.base import InvalidState
from mvm_tui.clock import VirtualClock
from mvm_tui.models import PowerAction
from mvm_tui.runs import RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Session, measure
from tests.unit.test_workload_create import execute, parts


async def change(cluster: Cluster, clock: VirtualClock, request: dict[str, object],
                 vm: str = "web-01") -> tuple[dict[str, object], RunState, str | None]:
    await measure(cluster, 0)
    params = await cluster.change_params(cluster.vm(vm), request)
    run = await execute(cluster, clock, cluster.create_change_run(params))
    return params, run.state, run.error


async def test_a_resize_within_the_maximums_is_live(session: Session,
                                                    clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    params = await cluster.change_params(cluster.vm("web-01"),
                                         {"kind": "resize", "vcpus": 2, "memory_mb": 2560})
    titles = [s.title for s in cluster.change_preview(params)]
    assert titles == ["Set the vCPUs of web-01 to 2, live",
                      "Add a 512 MiB memory module to web-01, live"]
    run = await execute(cluster, clock, cluster.create_change_run(params))
    assert run.state is RunState.DONE, run.error
    shape = await w.shape("hv1", "web-01")
    assert (shape.vcpus, shape.memory_mb, shape.pending) == (2, 2560, "")
    assert (shape.free_slots, (await sim.vm_info("web-01")).memory_mb) == (15, 2560)


async def test_above_the_maximum_it_is_pending_until_a_restart(session: Session,
                                                               clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    params, state, error = await change(cluster, clock, {"kind": "resize", "vcpus": 6})
    assert state is RunState.DONE, error
    assert params["next_boot"]
    assert not params["vcpus_live"]
    shape = await w.shape("hv1", "web-01")
    assert (shape.vcpus, shape.next_vcpus) == (1, 6)
    assert shape.pending.startswith("pending restart: 6 vCPUs")
    vm = await sim.vm_info("web-01")
    await sim.vm_power(vm, PowerAction.POWEROFF)
    await sim.vm_power(vm, PowerAction.START)
    shape = await w.shape("hv1", "web-01")
    assert (shape.vcpus, shape.pending) == (6, "")


async def test_a_growth_without_room_is_refused_when_planned_and_when_run(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    await measure(cluster, 0)
    with pytest.raises(InvalidState, match="web-01 is not grown: hv1 has"):
        await cluster.change_params(cluster.vm("web-01"),
                                    {"kind": "resize", "memory_mb": 30_000})
    params = await cluster.change_params(cluster.vm("web-01"),
                                         {"kind": "resize", "memory_mb": 8192})
    run = cluster.create_change_run(params)
    # hv1 fills up after the plan: a VM of 8 GiB lands there
    grown = await w.shape("hv1", "db-01")
    await w.set_next_boot("hv1", "db-01", grown.vcpus, 4096 + 6144)
    vm = await sim.vm_info("db-01")
    await sim.vm_power(vm, PowerAction.POWEROFF)
    await sim.vm_power(vm, PowerAction.START)
    done = await execute(cluster, clock, run)
    assert done.state is RunState.FAILED
    assert "web-01 is not grown: hv1 has" in (done.error or "")
    assert (await w.shape("hv1", "web-01")).memory_mb == 2048


async def test_a_retried_resize_adds_no_second_module(session: Session,
                                                      clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    _sim, w = parts(cluster)
    params, state, error = await change(cluster, clock, {"kind": "resize", "vcpus": 2,
                                                         "memory_mb": 2304})
    assert state is RunState.DONE, error
    run = cluster.create_change_run(params)
    again = await execute(cluster, clock, run)
    assert again.state is RunState.DONE, again.error
    shape = await w.shape("hv1", "web-01")
    assert (shape.memory_mb, shape.free_slots) == (2304, 15)


async def test_a_disk_is_added_grown_and_removed_to_the_trash(session: Session,
                                                              clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    _sim, w = parts(cluster)
    params, state, error = await change(cluster, clock, {"kind": "disk-add", "size_gb": 10})
    assert state is RunState.DONE, error
    assert (params["image"], params["target"]) == ("vm.web-01.disk1", "vdb")
    assert await w.disk_bytes("vm.web-01.disk1") == 10 * 2**30
    assert "vdb" in {d.target for d in (await w.shape("hv1", "web-01")).disks}

    with pytest.raises(ValueError, match="a disk only grows"):
        await cluster.change_params(cluster.vm("web-01"),
                                    {"kind": "disk-grow", "disk": "vdb", "size_gb": 5})
    _, state, error = await change(cluster, clock, {"kind": "disk-grow", "disk": "vdb",
                                                    "size_gb": 20})
    assert state is RunState.DONE, error
    assert await w.disk_bytes("vm.web-01.disk1") == 20 * 2**30

    params, state, error = await change(cluster, clock, {"kind": "disk-remove", "disk": "vdb"})
    assert state is RunState.DONE, error
    assert "vdb" not in {d.target for d in (await w.shape("hv1", "web-01")).disks}
    assert await w.disk_bytes("vm.web-01.disk1") is None
    assert w.trashed["vm.web-01.disk1"][1] == params["expires"]


async def test_a_nic_is_added_on_a_cluster_vlan_and_removed(session: Session,
                                                            clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    _, w = parts(cluster)
    await measure(cluster, 0)
    with pytest.raises(ValueError, match="VLAN 999 is not one of the cluster's"):
        await cluster.change_params(cluster.vm("web-01"), {"kind": "nic-add", "vlan": 999})
    before = {n.mac for n in (await w.shape("hv1", "web-01")).nics}
    params, state, error = await change(cluster, clock, {"kind": "nic-add", "vlan": 23})
    assert state is RunState.DONE, error
    assert params["mac"] not in before
    assert {(n.mac, n.vlan) for n in (await w.shape("hv1", "web-01")).nics} == {
        *((m, 22) for m in before), (params["mac"], 23)}
    _, state, error = await change(cluster, clock, {"kind": "nic-remove", "nic": "23"})
    assert state is RunState.DONE, error
    assert {n.mac for n in (await w.shape("hv1", "web-01")).nics} == before


async def test_a_vm_replaced_under_its_name_is_never_changed(session: Session,
                                                            clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    _sim, w = parts(cluster)
    await measure(cluster, 0)
    params = await cluster.change_params(cluster.vm("web-01"), {"kind": "disk-add",
                                                                 "size_gb": 1})
    run = cluster.create_change_run({**params, "uuid": "another-uuid"})
    done = await execute(cluster, clock, run)
    assert done.state is RunState.FAILED
    assert "now is another one" in (done.error or "")
    assert await w.disk_bytes("vm.web-01.disk1") is None
