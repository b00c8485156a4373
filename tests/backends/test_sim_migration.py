"""Live migration on the simulated cluster."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from mvm_tui.backends.base import BackendError, HostUnreachable, InvalidState, NotFound
from mvm_tui.backends.sim import SimBackend, SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.clock import VirtualClock
from mvm_tui.models import Layout, MigrationProgress, Placement, PowerAction, PowerState


def two_vms(clock: VirtualClock) -> SimBackend:
    hosts = [SimHostSpec(f"h{i}", f"198.51.100.{i}", 16, 65536, 1000) for i in (1, 2)]
    vms = [
        SimVmSpec("small", "h1", 2, 4096, 20, load=0.3),
        SimVmSpec("big", "h1", 2, 8192, 20, load=0.3),
    ]
    return SimBackend(SimClusterSpec("two", Layout.HCI, hosts, vms), clock)


async def run(
    sim: SimBackend, clock: VirtualClock, vm: str, dest: str, step: float = 0.5
) -> tuple[float, list[MigrationProgress]]:
    """Migrate, advancing the clock in steps; returns the clock time it took and the reports."""
    reports: list[MigrationProgress] = []
    start = clock.now()
    task = asyncio.create_task(sim.migrate(vm, dest, reports.append))
    while not task.done():
        await clock.advance(step)
        assert clock.now() - start < 600, "migration never ends"
    await task
    return clock.now() - start, reports


async def test_duration_proportional_to_memory(clock: VirtualClock) -> None:
    sim = two_vms(clock)
    small, _ = await run(sim, clock, "small", "h2", step=0.01)
    big, _ = await run(sim, clock, "big", "h2", step=0.01)
    assert big / small == pytest.approx(2.0, rel=0.1)
    # 8 GiB over ~10GbE (1.1 GB/s), the last 300 ms of it (max downtime) sent while paused,
    # plus the pages dirtied meanwhile
    assert 8 * 2**30 / 1.1e9 - 0.3 < big < 1.15 * 8 * 2**30 / 1.1e9


async def test_progress(sim: SimBackend, clock: VirtualClock) -> None:
    _, reports = await run(sim, clock, "db-01", "hv3", step=0.25)
    *during, last = reports
    assert len(during) >= 3
    for before, after in itertools.pairwise(during):
        assert after.elapsed_s == pytest.approx(before.elapsed_s + 1.0)  # about every second
        assert after.memory_remaining_bytes < before.memory_remaining_bytes
        assert after.memory_processed_bytes > before.memory_processed_bytes
        assert after.percent > before.percent
    for r in during:
        assert (r.vm, r.source, r.dest) == ("db-01", "hv1", "hv3")
        assert r.memory_total_bytes == 4096 * 2**20
        assert r.downtime_ms is None
        assert r.dirty_rate_bps > 0
    # dirtied pages are sent again: the remaining memory shrinks ever more slowly
    sent = [
        a.memory_remaining_bytes - b.memory_remaining_bytes
        for a, b in itertools.pairwise(during)
    ]
    assert sent == sorted(sent, reverse=True)
    assert sent[0] > sent[-1]
    assert last.memory_remaining_bytes == 0
    assert last.percent == 100
    assert last.memory_processed_bytes > last.memory_total_bytes  # some pages went twice
    assert last.downtime_ms is not None
    assert 0 < last.downtime_ms < 500


async def test_vm_is_on_exactly_one_host_throughout(sim: SimBackend, clock: VirtualClock) -> None:
    task = asyncio.create_task(sim.migrate("web-01", "hv2"))
    hosts_seen = []
    while not task.done():
        await clock.advance(0.2)
        placed: Counter[str] = Counter()
        for h in sim.hosts:
            for v in (await sim.poll_host(h.name)).vms:
                placed[v.name] += 1
                if v.name == "web-01":
                    hosts_seen.append(h.name)
                    assert v.power is PowerState.RUNNING
                    assert v.host == h.name
        assert set(placed.values()) == {1}
        assert len(placed) == 8
    await task
    assert hosts_seen[0] == "hv1"
    assert hosts_seen[-1] == "hv2"
    assert hosts_seen == sorted(hosts_seen)  # one switch-over, never back
    assert sim.where_is("web-01") == "hv2"
    assert (await sim.vm_info("web-01")).host == "hv2"


async def test_migration_traffic_shows_on_both_hosts(sim: SimBackend, clock: VirtualClock) -> None:
    quiet = (await sim.poll_host("hv1")).metrics.net_tx_bps
    task = asyncio.create_task(sim.migrate("db-01", "hv3"))
    await clock.advance(1)
    assert (await sim.poll_host("hv1")).metrics.net_tx_bps > quiet + 1e9
    assert (await sim.poll_host("hv3")).metrics.net_rx_bps > 1e9
    await clock.advance(10)
    await task


async def test_refusals(sim: SimBackend, clock: VirtualClock) -> None:
    with pytest.raises(NotFound):
        await sim.migrate("ghost", "hv2")
    with pytest.raises(NotFound):
        await sim.migrate("web-01", "hv9")
    with pytest.raises(InvalidState, match="web-01 is already on hv1"):
        await sim.migrate("web-01", "hv1")
    with pytest.raises(InvalidState, match="ci-runner-01 is not running"):
        await sim.migrate("ci-runner-01", "hv1")
    task = asyncio.create_task(sim.migrate("db-01", "hv2"))
    await clock.advance(0.5)
    with pytest.raises(InvalidState, match="db-01 is already being migrated to hv2"):
        await sim.migrate("db-01", "hv3")
    with pytest.raises(InvalidState, match="db-01 is being migrated"):
        await sim.vm_power(await sim.vm_info("db-01"), PowerAction.SHUTDOWN)
    await clock.advance(10)
    await task


async def test_not_enough_memory(sim: SimBackend, clock: VirtualClock) -> None:
    await sim.vm_power(await sim.vm_info("ci-runner-01"), PowerAction.START)
    for vm in ("web-02", "app-01", "monitor-01"):  # hv2 -> hv3: 13312 MB of 14848 usable
        await run(sim, clock, vm, "hv3")
    with pytest.raises(InvalidState, match="hv3 has not enough free memory for db-01"):
        await sim.migrate("db-01", "hv3")


async def test_dest_unreachable(sim: SimBackend, clock: VirtualClock) -> None:
    sim.power_off_host("hv2")
    task = asyncio.create_task(sim.migrate("web-01", "hv2"))
    await clock.advance(sim.spec.connect_timeout_s)
    with pytest.raises(HostUnreachable, match="hv2"):
        await task
    assert sim.where_is("web-01") == "hv1"


async def test_dest_lost_midway(sim: SimBackend, clock: VirtualClock) -> None:
    task = asyncio.create_task(sim.migrate("db-01", "hv2"))
    await clock.advance(1.5)
    sim.cut_network("hv2")
    await clock.advance(1)
    with pytest.raises(BackendError, match="lost connection to hv2"):
        await task
    vm = await sim.vm_info("db-01")
    assert vm.host == "hv1"
    assert vm.power is PowerState.RUNNING
    sim.restore_host("hv2")
    await run(sim, clock, "db-01", "hv2")  # the memory reserved for it was released
    assert sim.where_is("db-01") == "hv2"


async def test_source_lost_midway(sim: SimBackend, clock: VirtualClock) -> None:
    task = asyncio.create_task(sim.migrate("db-01", "hv2"))
    await clock.advance(1.5)
    sim.power_off_host("hv1")
    await clock.advance(1)
    with pytest.raises(BackendError, match="lost connection to hv1"):
        await task
    assert sim.where_is("db-01") == "hv1"
    sim.restore_host("hv1")
    assert (await sim.vm_info("db-01")).power is PowerState.SHUTOFF


async def test_poweroff_aborts_migration(sim: SimBackend, clock: VirtualClock) -> None:
    task = asyncio.create_task(sim.migrate("db-01", "hv2"))
    await clock.advance(1.5)
    await sim.vm_power(await sim.vm_info("db-01"), PowerAction.POWEROFF)
    await clock.advance(1)
    with pytest.raises(BackendError, match="aborted: domain is not running"):
        await task
    assert sim.where_is("db-01") == "hv1"


async def test_cancelled_migration_leaves_vm_on_source(
    sim: SimBackend, clock: VirtualClock
) -> None:
    waiting = asyncio.create_task(clock.wait_for(sim.migrate("db-01", "hv2"), 2))
    await clock.advance(2)
    with pytest.raises(TimeoutError):
        await waiting
    assert sim.where_is("db-01") == "hv1"
    await run(sim, clock, "db-01", "hv2")
    assert sim.where_is("db-01") == "hv2"


async def test_set_placement(sim: SimBackend) -> None:
    await sim.set_placement("web-01", Placement.FAILOVER, "hv1")
    web = await sim.vm_info("web-01")
    assert (web.placement, web.home_host) == (Placement.FAILOVER, "hv1")
    await sim.set_placement("license-srv", Placement.AUTO, None)
    lic = await sim.vm_info("license-srv")
    assert (lic.placement, lic.home_host) == (Placement.AUTO, None)
    with pytest.raises(NotFound):
        await sim.set_placement("web-01", Placement.PINNED, "hv9")
    with pytest.raises(NotFound):
        await sim.set_placement("ghost", Placement.PINNED, None)


async def test_relocate_after_host_loss(sim: SimBackend) -> None:
    sim.power_off_host("hv1")
    await sim.relocate("db-01", "hv3")
    db = await sim.vm_info("db-01")
    assert (db.host, db.power) == ("hv3", PowerState.SHUTOFF)
    await sim.vm_power(db, PowerAction.START)
    assert (await sim.vm_info("db-01")).power is PowerState.RUNNING
    with pytest.raises(InvalidState, match="web-02 is running on hv2"):
        await sim.relocate("web-02", "hv3")
