"""The real backends, through the app's Cluster facade, against the real lab (the scenarios
that also run on the simulator are in test_on_both_backends.py)."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from mvm_tui import lab
from mvm_tui.backends.libvirt.uri import migration_uri
from mvm_tui.backends.real import RealBackend
from mvm_tui.core.placement import room_left
from mvm_tui.lab.netns import hx
from mvm_tui.models import HostState, PowerAction, PowerState
from mvm_tui.runs import RunState
from mvm_tui.services.inventory import PollTimers
from mvm_tui.session import Session

pytestmark = pytest.mark.lab


async def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        await asyncio.sleep(0.2)


async def test_ceph_status_from_the_live_cluster(lab_session: Session) -> None:
    backend = lab_session.clusters[0].backend
    status = await backend.ceph_status()
    assert status is not None
    assert status.health == "HEALTH_OK"
    assert (status.num_mons, len(status.quorum_names)) == (3, 3)
    assert (status.num_osds, status.num_up_osds, status.num_in_osds) == (3, 3, 3)
    assert all(pg.state_name == "active+clean" for pg in status.pgs_by_state)
    poll = await backend.poll_host("h1")
    assert poll.facts.storage_gb > 0  # from `ceph osd df tree`, by the host's CRUSH bucket


async def test_an_incoming_migration_takes_room_on_its_destination_from_its_start(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    """What the migration room guard relies on: while a live migration runs, the destination's
    libvirt lists the incoming domain (paused), so a fresh poll counts its memory there."""
    backend = lab_session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    vm = await backend.vm_info("tiny-linux")
    assert vm.host is not None
    assert vm.power is PowerState.RUNNING
    source = lab_info.host(vm.host)
    dest = next(h for h in lab_info.hosts if h.name != vm.host)
    uri = migration_uri("root", dest.address)  # the source's own key: provisioned trust
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    # 1 MiB/s: the 128 MiB guest takes minutes to move; aborted below
    migration = await asyncio.to_thread(
        subprocess.Popen,
        hx(source.index, *virsh, "migrate", "--live", "--p2p", "--bandwidth", "1", "tiny-linux",
           uri), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        async def incoming() -> bool:
            poll = await backend.poll_host(dest.name)
            return any(v.name == "tiny-linux" and v.power is PowerState.PAUSED
                       for v in poll.vms)

        await wait_for(incoming, 60, f"tiny-linux listed paused on {dest.name}")
        poll = await backend.poll_host(dest.name)
        free = room_left(poll, dest.name, (10**9, 1))  # how much room the fresh poll sees
        without = poll.model_copy(update={"vms": tuple(v for v in poll.vms
                                                       if v.name != "tiny-linux")})
        assert free != room_left(without, dest.name, (10**9, 1))  # the incoming one counts
    finally:
        await asyncio.to_thread(subprocess.run, hx(source.index, *virsh, "domjobabort",
                                                   "tiny-linux"), capture_output=True, timeout=60)
        migration.wait(timeout=120)
    after = await backend.vm_info("tiny-linux")
    assert (after.host, after.power) == (source.name, PowerState.RUNNING)


async def test_a_cut_host_shows_unreachable_and_comes_back(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    cluster = lab_session.clusters[0]
    poller = cluster.poller
    poller.timers = PollTimers(interval=1.0, timeout=8.0, slow_threshold=3.0)  # the defaults
    cluster.start()

    async def state_of(name: str) -> HostState:
        return next(h.state for h in cluster.snapshot().hosts if h.name == name)

    async def h2_is(state: HostState) -> bool:
        return await state_of("h2") is state

    async def all_online() -> bool:
        return all(h.state is HostState.ONLINE for h in cluster.snapshot().hosts)

    await wait_for(all_online, 30, "every host online")
    assert (await cluster.backend.vm_info("tiny-b")).power is PowerState.RUNNING
    lab.cut("h2")
    try:
        started = time.monotonic()
        await wait_for(lambda: h2_is(HostState.UNREACHABLE), 15, "h2 unreachable")
        assert time.monotonic() - started < 8.0 + 1.0 + 2.0  # timeout + interval + slack
        # h1's VM has its disk on RBD: its I/O, and so libvirt's stats of it, stall until
        # Ceph marks h2's OSD down. h1 may show slow meanwhile, never unreachable.
        for _ in range(10):
            others = {h.name: h.state for h in cluster.snapshot().hosts if h.name != "h2"}
            assert set(others.values()) <= {HostState.ONLINE, HostState.SLOW}, [
                (e.subject, e.message) for e in cluster.poller.events()]
            await asyncio.sleep(1)
        # cut off from both peers for longer than self_fence_after, h2 killed its own VM
        agent_log = (await asyncio.to_thread(
            subprocess.run, hx(lab_info.host("h2").index, "cat", "/run/mvm-tui/selffence.log"),
            capture_output=True, text=True, timeout=30)).stdout
        assert "killing tiny-b" in agent_log, agent_log
    finally:
        lab.restore("h2")
    await wait_for(lambda: h2_is(HostState.ONLINE), 60, "h2 back online")
    tiny_b = await cluster.backend.vm_info("tiny-b")
    assert tiny_b.power is PowerState.SHUTOFF
    await cluster.backend.vm_power(tiny_b, PowerAction.START)


async def test_a_vm_stopped_behind_the_apps_back_shows_at_once(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    cluster = lab_session.clusters[0]
    cluster.poller.timers = PollTimers(interval=120.0, timeout=10.0, slow_threshold=5.0)
    cluster.start()

    async def tiny_b(power: PowerState) -> bool:
        return any(v.name == "tiny-b" and v.power is power for v in cluster.snapshot().vms)

    await wait_for(lambda: tiny_b(PowerState.RUNNING), 30, "tiny-b running")
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    h2 = lab_info.host("h2").index
    await asyncio.to_thread(subprocess.run, hx(h2, *virsh, "destroy", "tiny-b"), check=True,
                            timeout=60)
    try:  # the next poll is 120 s away: only libvirt's lifecycle event can show it this soon
        await wait_for(lambda: tiny_b(PowerState.SHUTOFF), 10, "tiny-b shown shut off")
    finally:
        await asyncio.to_thread(subprocess.run, hx(h2, *virsh, "start", "tiny-b"), check=True,
                                timeout=60)
    await wait_for(lambda: tiny_b(PowerState.RUNNING), 10, "tiny-b shown running again")


async def test_graceful_shutdown_of_a_real_guest(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    """A Linux guest (TCG) powers off on ACPI: the shutdown run ends when it is shut off."""
    console = lab_info.directory / "hosts" / "h3" / "log-libvirt" / "qemu" / "tiny-linux-serial.log"

    async def guest_ready() -> bool:
        return console.exists() and "mvmlab-guest: acpid listening" in console.read_text()

    await wait_for(guest_ready, 60, "the Linux guest to boot")
    cluster = lab_session.clusters[0]
    vm = await cluster.backend.vm_info("tiny-linux")
    assert vm.power is PowerState.RUNNING
    record = cluster.create_power_run(vm, PowerAction.SHUTDOWN)
    done = await cluster.execute(record.id)
    assert done.state is RunState.DONE, done.error
    assert (await cluster.backend.vm_info("tiny-linux")).power is PowerState.SHUTOFF
    # libvirt's reason, VIR_DOMAIN_SHUTOFF_SHUTDOWN, tells the run the guest did it
    assert lab_session.store.notes(record.id)["outcome"] == "shut down by the guest"
    assert "reboot: Power down" in console.read_text()  # the guest powered itself off
    consoles = cluster.backend.consoles()  # what the operator reads of it, stopped
    assert consoles is not None
    assert "reboot: Power down" in (await consoles.boot_log("tiny-linux")).text


async def test_fencing_blocklists_a_hosts_ceph_clients(
    lab_session: Session, lab_info: lab.LabInfo
) -> None:
    backend = lab_session.clusters[0].backend
    assert isinstance(backend, RealBackend)
    h3 = lab_info.host("h3")
    write = hx(h3.index, "timeout", "20", "rados", "-p", "vms", "put", "fence-probe",
               "/etc/hostname")
    written = await asyncio.to_thread(subprocess.run, write, capture_output=True, timeout=60)
    assert written.returncode == 0
    assert backend.fence_commands("h3", 3600) == [
        "ceph --connect-timeout 10 osd blocklist add 10.213.0.13:0/0 3600"]
    await backend.fence("h3", 3600)
    try:
        assert "10.213.0.13:0/0" in await backend.blocklisted()
        fenced = await asyncio.to_thread(subprocess.run, write, capture_output=True, text=True,
                                         timeout=60)
        assert fenced.returncode != 0  # its clients can no longer write
    finally:
        await backend.unfence("h3")
    assert "10.213.0.13:0/0" not in await backend.blocklisted()
    written = await asyncio.to_thread(subprocess.run, write, capture_output=True, timeout=60)
    assert written.returncode == 0


async def test_a_shut_off_vm_moves_cold(lab_session: Session) -> None:
    backend = lab_session.clusters[0].backend
    off = await backend.vm_info("tiny-b")
    await backend.vm_power(off, PowerAction.POWEROFF)
    await wait_for(lambda: is_off(backend), 30, "tiny-b shut off")
    vm = await backend.vm_info("tiny-b")
    assert backend.relocate_commands(vm, "h3")[0].startswith(
        "virsh -c 'qemu+libssh2://root@10.213.0.12/system?")
    await backend.relocate("tiny-b", "h3")
    moved = await backend.vm_info("tiny-b")
    assert (moved.host, moved.power) == ("h3", PowerState.SHUTOFF)
    assert "tiny-b" not in {v.name for v in (await backend.poll_host("h2")).vms}
    await backend.relocate("tiny-b", "h2")  # back where the other tests expect it
    await backend.vm_power(await backend.vm_info("tiny-b"), PowerAction.START)
    assert (await backend.vm_info("tiny-b")).host == "h2"


async def is_off(backend) -> bool:  # type: ignore[no-untyped-def]
    return (await backend.vm_info("tiny-b")).power is PowerState.SHUTOFF
