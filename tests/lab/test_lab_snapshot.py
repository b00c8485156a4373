"""Snapshots of a VM's RBD disk on the lab's real Ceph (issue 19), each a Run.

Expected, written before running it: known data (a 1 MiB pattern 0xaa) on the disk of a shut
off VM; a snapshot of it is "stopped"-consistent; other data written over it (0xbb); reverting
brings the first back (qemu-io verifies the pattern); 0xcc written then. Started, the VM (no
guest agent: a BIOS guest without an OS) is snapshotted crash-consistent and keeps running; a
new VM cloned from the first snapshot meanwhile has 0xaa on its disk while the source keeps
0xcc. A revert planned while it was shut off fails at its step when it runs again (the guard
holds when the step runs), and changes nothing. Deleting the snapshots leaves none."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest

from mvm_tui import lab
from mvm_tui.core.new_vm import disk_rbd
from mvm_tui.lab.netns import hx
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunState
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.snapshots import Action
from mvm_tui.session import Session, measure

pytestmark = pytest.mark.lab
VM = "snap-a"
MADE = (VM, "grp-1", "grp-2")  # the guests these tests define


@pytest.fixture(autouse=True)
def _removed_after(lab_info: lab.LabInfo) -> Iterator[None]:
    """The guests made here are gone after (the next lab tests count the VMs of each host)."""
    yield
    virsh = ("virsh", "-q", "-c", "qemu:///system")
    for h in lab_info.hosts:
        for name in MADE:
            for verb in ("destroy", "undefine"):
                subprocess.run(hx(h.index, *virsh, verb, name), capture_output=True,
                               timeout=60, check=False)
    for name in MADE:
        for rbd in (["snap", "purge", "--no-progress"], ["rm", "--no-progress"]):
            subprocess.run(hx(1, "rbd", *rbd, f"{lab_info.pool}/{name}"), capture_output=True,
                           timeout=120, check=False)


async def qemu_io(cluster: Cluster, command: str, image: str = VM) -> str:
    """qemu-io on h1 against the VM's image (as the lab's client.admin)."""
    backend = cluster.backend
    result = await backend.ssh.run(  # type: ignore[attr-defined]
        "h1", ["qemu-io", "-f", "raw", f"rbd:vms/{image}:id=admin", "-c", command],
        timeout=60)
    out: str = result.stdout + result.stderr
    assert "failed" not in out.lower(), out
    return out


async def power(cluster: Cluster, action: PowerAction, want: PowerState) -> None:
    vm = await cluster.backend.vm_info(VM)
    if vm.power is not want:
        await cluster.backend.vm_power(vm, action)
    for _ in range(100):
        if (await cluster.backend.vm_info(VM)).power is want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{VM} not {want.value}")


async def run(cluster: Cluster, action: Action, name: str) -> RunState:
    vm = await cluster.backend.vm_info(VM)
    params = await cluster.snapshots.params(action, vm, name)
    record = cluster.snapshots.create_run(action, params)
    done = await cluster.execute(record.id)
    return done.state


async def test_snapshot_revert_and_delete_on_real_rbd(lab_session: Session,
                                                      lab_info: lab.LabInfo) -> None:
    await asyncio.to_thread(lab.define_guest, "h1", VM, "rbd", False)
    cluster = lab_session.clusters[0]
    await qemu_io(cluster, "write -P 0xaa 0 1M")
    assert await run(cluster, "take", "before") is RunState.DONE
    await qemu_io(cluster, "write -P 0xbb 0 1M")
    await qemu_io(cluster, "read -P 0xbb 0 1M")  # (changed)
    (snap,) = await cluster.snapshots.of(await cluster.backend.vm_info(VM))
    assert (snap.name, snap.consistency, snap.disks, snap.complete) == (
        "before", "stopped", (VM,), True)
    assert snap.size_bytes == 64 * 2**20

    assert await run(cluster, "revert", "before") is RunState.DONE
    assert "read 1048576/1048576 bytes" in await qemu_io(cluster, "read -P 0xaa 0 1M")
    await qemu_io(cluster, "write -P 0xcc 0 1M")

    await power(cluster, PowerAction.START, PowerState.RUNNING)
    assert await run(cluster, "take", "live") is RunState.DONE
    assert (await cluster.backend.vm_info(VM)).power is PowerState.RUNNING
    snaps = {s.name: s for s in await cluster.snapshots.of(await cluster.backend.vm_info(VM))}
    assert snaps["live"].consistency == "crash"  # (no guest agent answered)

    # a new VM from the first snapshot, its source running meanwhile
    await measure(cluster, 0)  # (a poll of every host: where the copy fits)
    params = await cluster.clone_params(await cluster.backend.vm_info(VM), "snap-b",
                                        snapshot="before")
    cloned = await cluster.execute(cluster.create_clone_run(params).id)
    assert cloned.state is RunState.DONE, cloned.error
    assert "read 1048576/1048576 bytes" in await qemu_io(cluster, "read -P 0xaa 0 1M",
                                                         disk_rbd("snap-b", 0))
    await qemu_io(cluster, "read -P 0xcc 0 1M")  # (the source as it is now)
    copy = await cluster.backend.vm_info("snap-b")
    gone = await cluster.execute(cluster.create_delete_run(cluster.delete_params(copy)).id)
    assert gone.state is RunState.DONE, gone.error

    await power(cluster, PowerAction.POWEROFF, PowerState.SHUTOFF)
    vm = await cluster.backend.vm_info(VM)
    params = await cluster.snapshots.params("revert", vm, "before")
    record = cluster.snapshots.create_run("revert", params)
    await power(cluster, PowerAction.START, PowerState.RUNNING)  # started after the plan
    done = await cluster.execute(record.id)
    assert done.state is RunState.FAILED
    assert "not rolled back while it runs" in (done.error or "")

    await power(cluster, PowerAction.POWEROFF, PowerState.SHUTOFF)
    for name in ("before", "live"):
        assert await run(cluster, "delete", name) is RunState.DONE
    assert await cluster.snapshots.of(await cluster.backend.vm_info(VM)) == []


async def test_a_group_snapshot_across_two_hosts(lab_session: Session,
                                                 lab_info: lab.LabInfo) -> None:
    """Two running VMs without an agent, on h1 and h2: each paused on its host for the
    snapshots (crash-consistent at one instant), resumed after; the hosts' watchdogs are gone
    (no late resume); both have the snapshot on their disk."""
    for host, name in (("h1", "grp-1"), ("h2", "grp-2")):
        await asyncio.to_thread(lab.define_guest, host, name, "rbd", True)
    cluster = lab_session.clusters[0]
    vms = [await cluster.backend.vm_info(n) for n in ("grp-1", "grp-2")]
    assert [v.power for v in vms] == [PowerState.RUNNING] * 2
    params = await cluster.snapshots.group_params(vms, "together")
    record = cluster.snapshots.create_group_run(params)
    done = await cluster.execute(record.id)
    assert done.state is RunState.DONE, done.error
    assert lab_session.store.notes(record.id)["consistency"] == {"grp-1": "crash",
                                                                 "grp-2": "crash"}
    for vm in vms:
        assert (await cluster.backend.vm_info(vm.name)).power is PowerState.RUNNING
        (snap,) = await cluster.snapshots.of(vm)
        assert (snap.name, snap.consistency, snap.complete) == ("together", "crash", True)
    for host in ("h1", "h2"):
        left = await cluster.backend.ssh.run(  # type: ignore[attr-defined]
            host, ["pgrep", "-f", "mvm-tui-[t]haw"], check=False)
        assert left.stdout == "", left.stdout  # (each watchdog stopped by the thaw)
