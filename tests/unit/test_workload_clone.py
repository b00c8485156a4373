"""Cloning a stopped VM, on the simulator (issue 17). Expected before running:
- web-1 (made from debian-12 with a volume, a seed and a NIC on VLAN 22), shut off, cloned as
  web-2 with a static address: web-2's disks are copies under its own names (its root disk
  still a clone of debian-12), its seed has a new instance-id, its name, the MAC of its own
  NIC and the address, and the users and keys of web-1's; web-2 has its own uuid and MAC;
- web-1 running is refused; a name the cluster has is refused;
- web-1 started after the clone was planned stops it before any disk is copied.
"""

from __future__ import annotations

import json

import pytest

from mvm_tui.backends.base import InvalidState
from mvm_tui.clock import VirtualClock
from mvm_tui.core.new_vm import disk_rbd, seed_rbd
from mvm_tui.models import PowerAction
from mvm_tui.runs import RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.seed_iso import seed_files_of
from mvm_tui.session import Session, measure
from tests.unit.test_workload_create import KEY, WEB, execute, parts


async def stopped_web_1(cluster: Cluster, clock: VirtualClock) -> None:
    sim, _ = parts(cluster)
    made = await execute(cluster, clock, cluster.create_vm_run(
        await cluster.new_vm_params(WEB)))
    assert made.state is RunState.DONE, made.error
    await sim.vm_power(await sim.vm_info("web-1"), PowerAction.POWEROFF)
    await measure(cluster, 0)


async def test_a_clone_has_its_own_disks_seed_uuid_and_mac(session: Session,
                                                           clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    await stopped_web_1(cluster, clock)
    params = await cluster.clone_params(cluster.vm("web-1"), "web-2",
                                        address="10.0.22.16/24", gateway="10.0.22.1")
    assert params["renames"] == {disk_rbd("web-1", 0): disk_rbd("web-2", 0),
                                 disk_rbd("web-1", 1): disk_rbd("web-2", 1),
                                 seed_rbd("web-1"): seed_rbd("web-2")}
    run = await execute(cluster, clock, cluster.create_clone_run(params))
    assert run.state is RunState.DONE, run.error
    assert w.rbd[disk_rbd("web-2", 0)].parent == "debian-12"
    web_1, web_2 = await sim.vm_info("web-1"), await sim.vm_info("web-2")
    assert web_2.uuid == params["uuid"] != web_1.uuid
    assert [n.mac for n in web_2.nics] == params["macs"] != [n.mac for n in web_1.nics]
    assert [d.source for d in web_2.disks] == [f"rbd:vms/{i}" for i in (
        disk_rbd("web-2", 0), disk_rbd("web-2", 1), seed_rbd("web-2"))]
    seed = await w.read_seed(seed_rbd("web-2"))
    assert seed is not None
    files = seed_files_of(seed)
    assert json.loads(files["meta-data"]) == {"instance-id": params["uuid"],
                                              "local-hostname": "web-2"}
    user = json.loads(files["user-data"].partition("\n")[2])
    assert (user["hostname"], user["users"][0]["ssh_authorized_keys"]) == ("web-2", [KEY])
    nic0 = json.loads(files["network-config"])["ethernets"]["nic0"]
    assert (nic0["match"]["macaddress"], nic0["addresses"]) == (params["macs"][0],
                                                                ["10.0.22.16/24"])


async def test_a_running_source_or_a_taken_name_is_refused(session: Session,
                                                           clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    with pytest.raises(InvalidState, match="web-01 is running: shut it down first"):
        await cluster.clone_params(cluster.vm("web-01"), "web-01b")
    await stopped_web_1(cluster, clock)
    with pytest.raises(ValueError, match="name: a VM named web-01 exists"):
        await cluster.clone_params(cluster.vm("web-1"), "web-01")


async def test_a_source_started_after_the_plan_stops_the_clone(session: Session,
                                                                clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    await stopped_web_1(cluster, clock)
    run = cluster.create_clone_run(await cluster.clone_params(cluster.vm("web-1"), "web-2"))
    await sim.vm_power(await sim.vm_info("web-1"), PowerAction.START)
    done = await execute(cluster, clock, run)
    assert done.state is RunState.FAILED
    assert "web-1 is running: a running VM's disks are not copied" in (done.error or "")
    assert await w.disk_bytes(disk_rbd("web-2", 0)) is None


async def test_a_stopped_vm_is_renamed_with_its_disks(session: Session,
                                                      clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    await stopped_web_1(cluster, clock)
    before = await sim.vm_info("web-1")
    params = await cluster.rename_params(cluster.vm("web-1"), "web-7")
    assert params["renames"] == {disk_rbd("web-1", 0): disk_rbd("web-7", 0),
                                 disk_rbd("web-1", 1): disk_rbd("web-7", 1),
                                 seed_rbd("web-1"): seed_rbd("web-7")}
    run = await execute(cluster, clock, cluster.create_rename_run(params))
    assert run.state is RunState.DONE, run.error
    after = await sim.vm_info("web-7")
    assert (after.uuid, after.nics) == (before.uuid, before.nics)
    assert [d.source for d in after.disks] == [f"rbd:vms/{i}" for i in (
        disk_rbd("web-7", 0), disk_rbd("web-7", 1), seed_rbd("web-7"))]
    assert await w.defined("web-1") == {}
    assert await w.disk_bytes(disk_rbd("web-1", 0)) is None
    with pytest.raises(InvalidState, match="web-01 is running: shut it down first"):
        await cluster.rename_params(cluster.vm("web-01"), "web-00")
