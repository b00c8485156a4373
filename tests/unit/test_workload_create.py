"""Creating a VM as a Run, on the simulator (issue 17). Expected before running:
- a request for a new name, from a library image, makes its disks (a clone of the image and
  the extra volumes), its seed, its definition, and starts it, on the least full host;
- a request with wrong values is refused, each wrong field named, and nothing is made;
- a VM of the same name appearing after the run was made stops the run before it makes a
  disk; a host that fills up meanwhile stops it before the definition;
- a run that failed midway, retried, finishes the same VM (same uuid) and makes nothing twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from mvm_tui.backends.sim import SimBackend
from mvm_tui.backends.sim.workloads import SimWorkloads
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.core.cloud_init import CloudInit
from mvm_tui.core.new_vm import NewVm, disk_rbd, seed_rbd
from mvm_tui.core.placement import rooms
from mvm_tui.core.vm_spec import VmSpec
from mvm_tui.models import Placement, PowerAction, PowerState
from mvm_tui.runs import RunRecord, RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.create import RequestRefused
from mvm_tui.session import Session, measure

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxQ8kOR0a+Dz3yD2nAnjGXu5uUAAp7sXyJ5nEn0bH0e ops@laptop"
WEB = NewVm(name="web-1", vcpus=2, memory_mb=2048, image="debian-12", disk_gb=20,
            volumes_gb=(50,), vlans=(22,),
            cloud=CloudInit(hostname="web-1", user="ops", ssh_keys=(KEY,)))


def parts(cluster: Cluster) -> tuple[SimBackend, SimWorkloads]:
    sim = cluster.backend
    assert isinstance(sim, SimBackend)
    w = sim.workloads()
    assert w is not None
    return sim, w


async def execute(cluster: Cluster, clock: VirtualClock, run: RunRecord) -> RunRecord:
    task = asyncio.create_task(cluster.execute(run.id))
    for _ in range(200):
        await settle()
        if task.done():
            break
        await clock.advance(1.0)
    return await task


async def test_a_vm_is_made_from_an_image_and_started(session: Session,
                                                      clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    params = await cluster.new_vm_params(WEB)
    steps = cluster.create_vm_preview(params)
    assert [s.title for s in steps] == [
        "Make the disks of web-1: a clone of debian-12 and 1 more",
        "Write the cloud-init seed of web-1", f"Define web-1 on {params['host']}",
        "Start web-1"]
    assert any("rbd clone vms/img.debian-12@base vms/vm.web-1.disk0" in c
               for c in steps[0].preview)
    assert "<domain" in steps[2].preview[0]
    assert "portgroup=\"vlan-22\"" in steps[2].preview[0]
    record = await execute(cluster, clock, cluster.create_vm_run(params))
    assert record.state is RunState.DONE, record.error
    vm = await sim.vm_info("web-1")
    assert (vm.power, vm.host, vm.uuid) == (PowerState.RUNNING, params["host"],
                                            params["request"]["uuid"])
    assert w.rbd[disk_rbd("web-1", 0)].parent == "debian-12"
    assert w.rbd[disk_rbd("web-1", 1)].size == 50 * 2**30
    assert w.rbd[seed_rbd("web-1")].data.startswith(b"\0" * 16)  # an ISO's system area
    images = {i.name: i for i in await w.images()}
    assert images["debian-12"].disks == (disk_rbd("web-1", 0),)


async def test_the_least_full_host_is_chosen_unless_one_is_asked_for(session: Session) -> None:
    cluster = session.clusters[0]
    room = rooms(cluster.snapshot())
    fill = {h: r.memory_used_mb / r.memory_mb for h, r in room.items()}
    assert sorted(fill.values())[0] < sorted(fill.values())[1]  # one is the least full
    auto = await cluster.new_vm_params(WEB)
    assert auto["host"] == min(fill, key=lambda h: fill[h])
    asked = max(fill, key=lambda h: fill[h])
    pinned = await cluster.new_vm_params(replace(WEB, host=asked, placement=Placement.PINNED))
    assert pinned["host"] == asked


async def test_wrong_values_are_refused_each_field_named_and_nothing_made(
        session: Session) -> None:
    cluster = session.clusters[0]
    _, w = parts(cluster)
    before = dict(w.rbd)
    taken = cluster.snapshot().vms[0].name
    bad = replace(WEB, name=taken, image="windows-xp", vlans=(99,), disk_gb=1,
                  cloud=CloudInit(hostname="web_1", ssh_keys=("ssh-rsa nonsense",),
                                  user_data="#cloud-config\nusers: [x]\n"))
    with pytest.raises(RequestRefused) as refused:
        await cluster.new_vm_params(bad)
    assert set(refused.value.problems) >= {
        "name", "image", "vlans[0]", "cloud_init.hostname", "cloud_init.ssh_keys[0]",
        "cloud_init.user_data"}
    assert taken in refused.value.problems["name"]
    with pytest.raises(RequestRefused) as small:
        await cluster.new_vm_params(replace(WEB, disk_gb=1))
    assert "cannot be smaller" in small.value.problems["disk_gb"]
    assert w.rbd == before
    assert cluster.executor.store.list_runs() == []


async def test_a_name_taken_after_the_run_was_made_stops_it_before_any_disk(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    params = await cluster.new_vm_params(WEB)
    run = cluster.create_vm_run(params)
    other = next(h.name for h in cluster.snapshot().hosts if h.name != params["host"])
    spec = replace(WEB, uuid="").spec("vms")
    await w.define(other, "<domain/>", spec)  # a colleague made one meanwhile
    record = await execute(cluster, clock, run)
    assert record.state is RunState.FAILED
    assert f"a VM named web-1 is defined on {other}" in (record.error or "")
    assert disk_rbd("web-1", 0) not in w.rbd
    assert (await sim.vm_info("web-1")).host == other


async def test_a_host_that_filled_up_meanwhile_stops_it_before_the_definition(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    params = await cluster.new_vm_params(replace(WEB, memory_mb=6144,
                                                 allow_reserve_break=True))
    run = cluster.create_vm_run(params)
    hog = replace(WEB, name="hog", memory_mb=10240, uuid="").spec("vms")
    await w.define(params["host"], "<domain/>", hog)
    await sim.vm_power(await sim.vm_info("hog"), PowerAction.START)
    record = await execute(cluster, clock, run)
    assert record.state is RunState.FAILED
    assert "web-1 is not put there" in (record.error or "")
    assert "web-1" not in (await w.defined("web-1"))


async def test_a_failed_run_retried_finishes_the_same_vm_and_makes_nothing_twice(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    params = await cluster.new_vm_params(WEB)
    run = cluster.create_vm_run(params)
    made: list[str] = []
    clone, define = w.clone, w.define

    async def counted_clone(image: str, disk: str, size_gb: int) -> None:
        made.append(disk)
        await clone(image, disk, size_gb)

    async def cut_off(host: str, xml: str, spec: VmSpec) -> None:
        sim.cut_network(host)  # the host is lost just as it is asked to define the VM
        await define(host, xml, spec)

    w.clone, w.define = counted_clone, cut_off  # type: ignore[method-assign]
    first = await execute(cluster, clock, run)
    assert first.state is RunState.FAILED
    assert disk_rbd("web-1", 0) in w.rbd
    assert seed_rbd("web-1") in w.rbd
    sim.restore_host(params["host"])
    w.define = define  # type: ignore[method-assign]
    await measure(cluster, 0)
    assert "web-1" not in (await w.defined("web-1"))
    again = await execute(cluster, clock, run)
    assert again.state is RunState.DONE, again.error
    assert made == [disk_rbd("web-1", 0)]  # the disks step was done: checked, not redone
    assert (await w.defined("web-1")) == {params["host"]: params["request"]["uuid"]}


async def test_a_deleted_vm_is_marked_first_then_off_undefined_and_its_disks_trashed(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    made = await execute(cluster, clock, cluster.create_vm_run(
        await cluster.new_vm_params(WEB)))
    assert made.state is RunState.DONE
    vm = await sim.vm_info("web-1")
    params = cluster.delete_params(vm)
    assert params["disks"] == [disk_rbd("web-1", 0), disk_rbd("web-1", 1), seed_rbd("web-1")]
    titles = [s.title for s in cluster.delete_preview(params)]
    assert titles[0] == "Mark web-1 deleted, so HA never starts it again"
    record = await execute(cluster, clock, cluster.create_delete_run(params))
    assert record.state is RunState.DONE, record.error
    assert await w.deleted("web-1") == vm.uuid
    assert await w.defined("web-1") == {}
    assert set(w.trashed) == set(params["disks"])
    assert all(expiry == params["expires"] for _, expiry in w.trashed.values())
    # the name is free again: a new web-1 clears the mark (it is another VM)
    await measure(cluster, 0)
    again = await execute(cluster, clock, cluster.create_vm_run(
        await cluster.new_vm_params(replace(WEB, volumes_gb=()))))
    assert again.state is RunState.DONE, again.error
    assert await w.deleted("web-1") is None


async def test_a_delete_never_touches_another_vm_made_since_under_the_name(
        session: Session, clock: VirtualClock) -> None:
    cluster = session.clusters[0]
    sim, w = parts(cluster)
    first = await cluster.new_vm_params(WEB)
    assert (await execute(cluster, clock, cluster.create_vm_run(first))).state is RunState.DONE
    run = cluster.create_delete_run(cluster.delete_params(await sim.vm_info("web-1")))
    # meanwhile, a colleague deletes it by hand and makes another web-1
    await sim.vm_power(await sim.vm_info("web-1"), PowerAction.POWEROFF)
    await w.undefine(first["host"], "web-1")
    await w.define(first["host"], "<domain/>", replace(WEB, uuid="0000-other").spec("vms"))
    record = await execute(cluster, clock, run)
    assert record.state is RunState.FAILED
    assert "the VM named web-1 now is another one" in (record.error or "")
    assert await w.deleted("web-1") is None  # not even marked
    assert (await sim.vm_info("web-1")).uuid == "0000-other"
