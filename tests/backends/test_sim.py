"""The simulated cluster: shape of the demo, determinism, metrics, power actions, faults."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mvm_tui.backends.base import HostUnreachable, InvalidState, NotFound
from mvm_tui.backends.sim import (
    SimBackend,
    SimClusterSpec,
    SimHostSpec,
    SimVmSpec,
    demo_cluster,
    scaled_cluster,
)
from mvm_tui.clock import ClockTimeout, VirtualClock
from mvm_tui.models import (
    HostPoll,
    Layout,
    Placement,
    PowerAction,
    PowerState,
    StopReason,
    Vm,
)

HV = ("hv1", "hv2", "hv3")


async def poll_all(sim: SimBackend) -> dict[str, HostPoll]:
    return {h.name: await sim.poll_host(h.name) for h in sim.hosts}


async def vm(sim: SimBackend, name: str) -> Vm:
    return await sim.vm_info(name)


# -- the demo cluster


async def test_demo_hosts(sim: SimBackend) -> None:
    assert sim.name == "demo"
    assert sim.layout is Layout.HCI
    assert [(h.name, h.address) for h in sim.hosts] == [
        ("hv1", "192.0.2.11"),
        ("hv2", "192.0.2.12"),
        ("hv3", "192.0.2.13"),
    ]
    for name, poll in (await poll_all(sim)).items():
        f = poll.facts
        assert (f.vcpus, f.memory_mb, f.storage_gb) == (4, 16384, 250.0), name
        assert f.os == "Ubuntu 22.04.4 LTS"
        assert f.libvirt_version == "9.0.0"
        assert 0 < f.storage_used_gb < f.storage_gb
        assert not poll.maintenance


async def test_demo_vms(sim: SimBackend) -> None:
    polls = await poll_all(sim)
    hv1 = {v.name: v.placement for v in polls["hv1"].vms}
    assert hv1 == {
        "web-01": Placement.AUTO,
        "db-01": Placement.FAILOVER,
        "license-srv": Placement.PINNED,
    }
    vms = [v for p in polls.values() for v in p.vms]
    assert 7 <= len(vms) <= 8
    assert len({v.uuid for v in vms}) == len(vms)
    assert len({n.mac for v in vms for n in v.nics}) == len(vms)
    assert any(v.power is PowerState.SHUTOFF for v in vms)
    for v in vms:
        assert 1024 <= v.memory_mb <= 4096, v.name
        assert 1 <= v.vcpus <= 2, v.name
        assert v.disks[0].source == f"rbd:vms/{v.name}"
        assert v.disks[0].target == "vda"
        assert all(n.network == "compute" and n.vlan in range(22, 26) for n in v.nics)
        if v.placement is Placement.AUTO:
            assert v.home_host is None
        else:
            assert v.home_host == v.host
    for host, poll in polls.items():  # everything fits, even with every VM running
        assert sum(v.memory_mb for v in poll.vms) + 1536 <= 16384, host
        assert all(v.host == host for v in poll.vms)


# -- determinism


async def observe(seed: int) -> list[object]:
    clock = VirtualClock()
    sim = demo_cluster(clock, seed=seed)
    seen: list[object] = []
    for _ in range(5):
        await clock.advance(37.5)
        seen.append(await poll_all(sim))
        seen.append(await sim.ceph_status())
    await sim.vm_power(await vm(sim, "web-01"), PowerAction.REBOOT)
    sim.power_off_host("hv3")
    await clock.advance(700)
    seen.append(await poll_all_reachable(sim))
    seen.append(await sim.ceph_status())
    return seen


async def poll_all_reachable(sim: SimBackend) -> dict[str, HostPoll]:
    return {h: await sim.poll_host(h) for h in ("hv1", "hv2")}


async def test_same_seed_same_observations() -> None:
    first, second = await observe(7), await observe(7)
    assert first == second
    assert await observe(8) != first


# -- metrics


async def test_metrics_stay_in_bounds_and_move(sim: SimBackend, clock: VirtualClock) -> None:
    cpus: dict[str, list[float]] = {}
    for _ in range(200):  # about two hours
        await clock.advance(37)
        for poll in (await poll_all(sim)).values():
            m = poll.metrics
            assert m.time == clock.now()
            assert 0 <= m.cpu_pct <= 100
            assert m.mem_used_mb == 1536 + sum(v.mem_used_mb for v in poll.vms)
            assert m.mem_used_mb <= poll.facts.memory_mb
            assert m.net_rx_bps >= sum(v.net_rx_bps for v in poll.vms)
            for v in poll.vms:
                if v.power is PowerState.RUNNING:
                    assert 0 < v.cpu_pct <= 100
                    assert 0 < v.mem_used_mb < v.memory_mb
                    assert min(v.disk_rd_bps, v.disk_wr_bps, v.net_rx_bps, v.net_tx_bps) > 0
                    cpus.setdefault(v.name, []).append(v.cpu_pct)
                else:
                    assert (v.cpu_pct, v.mem_used_mb, v.net_tx_bps) == (0, 0, 0)
    for name, series in cpus.items():
        assert len(set(series)) > 50, name  # it moves
        assert max(series) - min(series) > 0.3 * sum(series) / len(series), name


async def test_metrics_are_smooth(sim: SimBackend, clock: VirtualClock) -> None:
    last = (await vm(sim, "db-01")).cpu_pct
    for _ in range(120):
        await clock.advance(1)
        cpu = (await vm(sim, "db-01")).cpu_pct
        assert abs(cpu - last) < 10  # no jumps from one second to the next
        last = cpu


async def test_host_cpu_derives_from_its_vms(sim: SimBackend) -> None:
    poll = await sim.poll_host("hv1")
    vm_share = sum(v.cpu_pct * v.vcpus for v in poll.vms) / poll.facts.vcpus
    assert vm_share < poll.metrics.cpu_pct < vm_share + 5  # plus the host's own few percent


# -- power actions


async def test_start(sim: SimBackend, clock: VirtualClock) -> None:
    before = await vm(sim, "ci-runner-01")
    assert before.power is PowerState.SHUTOFF
    await sim.vm_power(before, PowerAction.START)
    booting = await vm(sim, "ci-runner-01")
    assert booting.power is PowerState.RUNNING
    assert booting.cpu_pct > 50  # the guest boots
    await clock.advance(sim.spec.boot_s + 60)
    assert (await vm(sim, "ci-runner-01")).mem_used_mb > booting.mem_used_mb
    with pytest.raises(InvalidState, match="ci-runner-01 is already running"):
        await sim.vm_power(booting, PowerAction.START)


async def test_shutdown(sim: SimBackend, clock: VirtualClock) -> None:
    web = await vm(sim, "web-01")
    await sim.vm_power(web, PowerAction.SHUTDOWN)
    assert (await vm(sim, "web-01")).power is PowerState.SHUTTING_DOWN
    with pytest.raises(InvalidState, match="web-01 is already shutting down"):
        await sim.vm_power(web, PowerAction.SHUTDOWN)
    with pytest.raises(InvalidState, match="web-01 is shutting down"):
        await sim.vm_power(web, PowerAction.START)
    await clock.advance(sim.spec.shutdown_s - 1)
    assert (await vm(sim, "web-01")).power is PowerState.SHUTTING_DOWN
    await clock.advance(1)
    off = await vm(sim, "web-01")
    assert off.power is PowerState.SHUTOFF
    assert off.cpu_pct == 0
    with pytest.raises(InvalidState, match="web-01 is not running"):
        await sim.vm_power(off, PowerAction.SHUTDOWN)


async def test_poweroff(sim: SimBackend) -> None:
    web = await vm(sim, "web-01")
    await sim.vm_power(web, PowerAction.POWEROFF)
    assert (await vm(sim, "web-01")).power is PowerState.SHUTOFF
    with pytest.raises(InvalidState, match="web-01 is not running"):
        await sim.vm_power(web, PowerAction.POWEROFF)
    with pytest.raises(InvalidState, match="web-01 is not running"):
        await sim.vm_power(web, PowerAction.REBOOT)


async def test_poweroff_while_shutting_down(sim: SimBackend) -> None:
    web = await vm(sim, "web-01")
    await sim.vm_power(web, PowerAction.SHUTDOWN)
    await sim.vm_power(web, PowerAction.POWEROFF)
    assert (await vm(sim, "web-01")).power is PowerState.SHUTOFF


async def test_a_guest_that_ignores_acpi_and_why_vms_stopped(
    sim: SimBackend, clock: VirtualClock
) -> None:
    """license-srv's guest ignores ACPI: a shutdown leaves it running (as QEMU reports such a
    guest); the stop reasons are libvirt's: shutdown, destroyed, crashed."""
    appliance = await vm(sim, "license-srv")
    await sim.vm_power(appliance, PowerAction.SHUTDOWN)
    await clock.advance(10 * sim.spec.shutdown_s)
    assert (await vm(sim, "license-srv")).power is PowerState.RUNNING
    assert await sim.vm_stop_reason("license-srv") is None
    await sim.vm_power(appliance, PowerAction.POWEROFF)
    assert await sim.vm_stop_reason("license-srv") is StopReason.DESTROYED
    web = await vm(sim, "web-01")
    await sim.vm_power(web, PowerAction.SHUTDOWN)
    await clock.advance(sim.spec.shutdown_s)
    assert await sim.vm_stop_reason("web-01") is StopReason.SHUTDOWN
    await sim.vm_power(web, PowerAction.START)
    assert await sim.vm_stop_reason("web-01") is None
    sim.ignore_acpi("web-01")
    await sim.vm_power(await vm(sim, "web-01"), PowerAction.SHUTDOWN)
    await clock.advance(10 * sim.spec.shutdown_s)
    assert (await vm(sim, "web-01")).power is PowerState.RUNNING
    sim.crash_vm("web-01")
    assert await sim.vm_stop_reason("web-01") is StopReason.CRASHED


async def test_reboot(sim: SimBackend, clock: VirtualClock) -> None:
    await clock.advance(3600)
    calm = await vm(sim, "license-srv")
    await sim.vm_power(calm, PowerAction.REBOOT)
    rebooting = await vm(sim, "license-srv")
    assert rebooting.power is PowerState.RUNNING
    assert rebooting.cpu_pct > calm.cpu_pct + 30  # busy booting
    assert rebooting.mem_used_mb < calm.mem_used_mb
    await clock.advance(sim.spec.boot_s)
    assert (await vm(sim, "license-srv")).cpu_pct < 30


async def test_unknown_names(sim: SimBackend) -> None:
    ghost = (await vm(sim, "web-01")).model_copy(update={"name": "ghost"})
    with pytest.raises(NotFound, match="ghost"):
        await sim.vm_info("ghost")
    with pytest.raises(NotFound, match="ghost"):
        await sim.vm_power(ghost, PowerAction.START)
    with pytest.raises(NotFound, match="hv9"):
        await sim.poll_host("hv9")
    with pytest.raises(NotFound):
        sim.power_off_host("hv9")


async def test_power_commands(sim: SimBackend) -> None:
    web = await vm(sim, "web-01")
    uri = "'qemu+libssh2://root@192.0.2.11/system?no_verify=0&no_tty=1&sshauth=privkey,agent'"
    assert sim.power_commands(web, PowerAction.SHUTDOWN) == [f"virsh -c {uri} shutdown web-01"]
    assert sim.power_commands(web, PowerAction.START) == [f"virsh -c {uri} start web-01"]
    assert sim.power_commands(web, PowerAction.POWEROFF) == [f"virsh -c {uri} destroy web-01"]
    assert sim.power_commands(web, PowerAction.REBOOT) == [f"virsh -c {uri} reboot web-01"]
    odd = web.model_copy(update={"name": "it's odd", "host": "hv2"})
    assert sim.power_commands(odd, PowerAction.START) == [
        "virsh -c 'qemu+libssh2://root@192.0.2.12/system?no_verify=0&no_tty=1&sshauth=privkey,"
        "agent' start 'it'\"'\"'s odd'"
    ]


async def test_power_action_on_unreachable_host(sim: SimBackend, clock: VirtualClock) -> None:
    web = await vm(sim, "web-01")
    sim.cut_network("hv1")
    task = asyncio.create_task(sim.vm_power(web, PowerAction.SHUTDOWN))
    await clock.advance(9)
    assert not task.done()
    await clock.advance(1)
    with pytest.raises(HostUnreachable, match=r"hv1 \(192\.0\.2\.11\): connection timed out"):
        await task
    sim.restore_host("hv1")
    assert (await vm(sim, "web-01")).power is PowerState.RUNNING  # nothing happened


# -- faults


async def test_power_off_host(sim: SimBackend, clock: VirtualClock) -> None:
    sim.power_off_host("hv2")
    task = asyncio.create_task(sim.poll_host("hv2"))
    await clock.advance(9.9)
    assert not task.done()
    await clock.advance(0.2)
    assert task.done()
    with pytest.raises(HostUnreachable, match=r"^hv2 \(192\.0\.2\.12\): connection timed out$"):
        task.result()
    # callers cut it shorter with their own timeout
    waiting = asyncio.create_task(clock.wait_for(sim.poll_host("hv2"), 3))
    await clock.advance(3)
    with pytest.raises(ClockTimeout):
        await waiting
    await sim.poll_host("hv1")  # the others are fine
    sim.restore_host("hv2")
    poll = await sim.poll_host("hv2")
    assert poll.vms
    assert all(v.power is PowerState.SHUTOFF for v in poll.vms)
    assert poll.metrics.mem_used_mb == 1536


async def test_cut_network_keeps_vms_running(sim: SimBackend, clock: VirtualClock) -> None:
    sim.cut_network("hv3")
    task = asyncio.create_task(sim.poll_host("hv3"))
    await clock.advance(20)
    with pytest.raises(HostUnreachable, match="hv3"):
        await task
    status = await sim.ceph_status()
    assert status is not None
    assert status.num_up_osds == 2
    await clock.advance(3600)
    sim.restore_host("hv3")
    cache = next(v for v in (await sim.poll_host("hv3")).vms if v.name == "cache-01")
    assert cache.power is PowerState.RUNNING
    assert cache.cpu_pct < 50  # it did not reboot


async def test_slow_host(sim: SimBackend, clock: VirtualClock) -> None:
    sim.set_latency("hv1", 4.0)
    task = asyncio.create_task(sim.poll_host("hv1"))
    await clock.advance(3.9)
    assert not task.done()
    await clock.advance(0.1)
    assert task.done()
    assert task.result().metrics.time == clock.now()  # answered once it got there
    waiting = asyncio.create_task(clock.wait_for(sim.poll_host("hv1"), 2))
    await clock.advance(2)
    with pytest.raises(ClockTimeout):
        await waiting
    sim.restore_host("hv1")
    await sim.poll_host("hv1")  # at once again


async def test_host_cut_while_a_slow_poll_is_on_its_way(
    sim: SimBackend, clock: VirtualClock
) -> None:
    sim.set_latency("hv1", 4.0)
    task = asyncio.create_task(sim.poll_host("hv1"))
    await clock.advance(1)
    sim.cut_network("hv1")
    await clock.advance(8.9)
    assert not task.done()
    await clock.advance(0.1)  # the connect timeout, counted from the start
    with pytest.raises(HostUnreachable):
        await task


async def test_six_hours_of_cluster_time(sim: SimBackend, clock: VirtualClock) -> None:
    polls = 0
    for minute in range(0, 6 * 60, 5):
        if minute == 60:
            sim.power_off_host("hv3")
        if minute == 180:
            sim.restore_host("hv3")
        await clock.advance(300)
        for h in sim.hosts:
            if h.name != "hv3" or not 60 <= minute < 180:
                await sim.poll_host(h.name)
                polls += 1
        await sim.ceph_status()
    assert clock.now() - VirtualClock().now() == 6 * 3600
    status = await sim.ceph_status()
    assert status is not None
    assert status.health == "HEALTH_OK"
    assert polls == 3 * 72 - 24
    assert (await vm(sim, "cache-01")).power is PowerState.SHUTOFF  # hv3 lost power


async def test_external_layout_has_no_ceph(clock: VirtualClock) -> None:
    spec = SimClusterSpec(
        name="nfs",
        layout=Layout.EXTERNAL,
        hosts=[SimHostSpec("a", "198.51.100.1", 8, 32768, 500)],
        vms=[SimVmSpec("x", "a", 2, 2048, 40)],
    )
    sim = SimBackend(spec, clock)
    assert await sim.ceph_status() is None
    poll = await sim.poll_host("a")
    assert poll.vms[0].disks[0].source == "/var/lib/libvirt/images/x.qcow2"
    assert 0 < poll.facts.storage_used_gb < 40
    with pytest.raises(InvalidState):
        sim.osd_out(0)


def test_spec_validation(clock: VirtualClock) -> None:
    host = SimHostSpec("a", "198.51.100.1", 8, 32768, 500)
    with pytest.raises(ValueError, match="unknown host b"):
        SimBackend(SimClusterSpec("c", Layout.HCI, [host], [SimVmSpec("x", "b", 1, 1, 1)]), clock)
    vms = [SimVmSpec("x", "a", 1, 1, 1), SimVmSpec("x", "a", 1, 1, 1)]
    with pytest.raises(ValueError, match="duplicate VMs"):
        SimBackend(SimClusterSpec("c", Layout.HCI, [host], vms), clock)


# -- scale


async def test_scaled_cluster_builds_and_polls(clock: VirtualClock) -> None:
    big = scaled_cluster(clock)  # what it costs: bench/ui_scale.py
    assert len(big.hosts) == 64
    assert big.hosts[0].name == "hv001"
    await clock.advance(5)
    polls = await asyncio.gather(*(big.poll_host(h.name) for h in big.hosts))
    status = await big.ceph_status()
    names = [v.name for p in polls for v in p.vms]
    assert len(names) == len(set(names)) == 5000
    for p in polls:
        assert p.metrics.mem_used_mb <= p.facts.memory_mb
        assert p.metrics.cpu_pct <= 100
    assert status is not None
    assert status.health == "HEALTH_OK"
    assert status.num_osds == 64


async def test_a_load_period_gives_the_same_vm_until_its_load_or_state_changes(
        clock: VirtualClock) -> None:
    big = scaled_cluster(clock, hosts=4, vms=200, load_period=10.0)
    await clock.advance(big.spec.boot_s + 60)  # every guest booted
    host = big.hosts[0].name

    async def by_name() -> dict[str, Vm]:
        return {v.name: v for v in (await big.poll_host(host)).vms}

    polls = [await by_name()]
    for _ in range(5):  # a load period, 2 s at a time
        await clock.advance(2)
        polls.append(await by_name())
    # a host's VMs are sampled together, at its own phase: in 2 s of a 10 s period, all of
    # them or none; in a whole period, once
    names = list(polls[0])
    resampled = [sum(b[n] is not a[n] for n in names) for a, b in itertools.pairwise(polls)]
    assert sorted(resampled) == [0, 0, 0, 0, len(names)]
    step = resampled.index(len(names))
    before, after = polls[step], polls[step + 1]
    assert all(after[n].cpu_pct != before[n].cpu_pct for n in names
               if before[n].power is PowerState.RUNNING)
    assert len({h.phase for h in big._hosts.values()}) > 1  # hosts at other phases
    last = polls[-1]
    running = next(n for n in names if last[n].power is PowerState.RUNNING)
    await big.vm_power(last[running], PowerAction.POWEROFF)
    now = await by_name()
    assert now[running] is not last[running]  # a change is seen at once
    assert now[running].power is PowerState.SHUTOFF
    assert all(now[n] is last[n] for n in names if n != running)  # (no time passed)


async def test_a_load_period_shows_a_shutdown_and_a_move_at_the_next_poll(
        clock: VirtualClock) -> None:
    big = scaled_cluster(clock, hosts=4, vms=200, load_period=10.0)
    await clock.advance(big.spec.boot_s + 60)
    host, other = big.hosts[0].name, big.hosts[1].name
    polled = {v.name: v for v in (await big.poll_host(host)).vms}
    vm = next(v for v in polled.values() if v.power is PowerState.RUNNING)
    await big.vm_power(vm, PowerAction.SHUTDOWN)
    seen = [next(v for v in (await big.poll_host(host)).vms if v.name == vm.name).power]
    for _ in range(120):  # a second at a time, well within a load period each
        await clock.advance(1)
        seen.append(next(v for v in (await big.poll_host(host)).vms
                         if v.name == vm.name).power)
        if seen[-1] is PowerState.SHUTOFF:
            break
    assert seen[0] is PowerState.SHUTTING_DOWN
    assert seen[-1] is PowerState.SHUTOFF
    await big.relocate(vm.name, other)
    assert vm.name not in {v.name for v in (await big.poll_host(host)).vms}
    moved = next(v for v in (await big.poll_host(other)).vms if v.name == vm.name)
    assert moved.host == other
