"""The RADOS lease lock, against a model of cls_lock's exclusive lock (every `rados` command a
new client; break needs the locker's name and cookie; a lease expires), and two HA services on
the simulator taking turns with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvm_tui.backends.sim import demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.core.failover import HaSettings
from mvm_tui.runs import RunExecutor, RunStore
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_lease import RadosLease
from tests.scenarios.fake_rados import FakeRados, Locker
from tests.sim_ha import sim_actions


def lease(rados: FakeRados, clock: VirtualClock, who: str) -> RadosLease:
    out = RadosLease(rados, "demo", "vms", duration=30.0, monotonic=clock.now)
    out.description = who
    return out


async def test_one_holder_renewals_and_takeover_after_the_lease() -> None:
    clock = VirtualClock()
    rados = FakeRados(clock)
    a, b = lease(rados, clock, "jump-a"), lease(rados, clock, "jump-b")
    assert rados.commands == []
    assert a.commands()[0][2:8] == [
        "rados", "-p", "vms", "lock", "get", "mvm-tui-ha.demo"]
    assert await a.acquire()
    assert a.valid()
    assert not await b.acquire()
    assert not b.valid()
    assert b.holder() == "jump-a"
    for _ in range(5):  # a keeps renewing: a new client each time, b never gets in
        await clock.advance(a.renew_every)
        assert await a.renew()
        assert a.valid()
        assert not await b.acquire()
    await clock.advance(25.0)  # a stopped renewing: its own view ends first
    assert not a.valid()
    assert not await b.acquire()  # Ceph's lease runs a little longer than a's view
    await clock.advance(6.0)
    assert await b.acquire()
    assert b.valid()
    assert not await a.renew()
    assert not a.valid()  # a's break names its old locker: refused
    assert a.holder() == "jump-b"


async def test_a_holder_cut_off_from_ceph_stops_counting_itself_active() -> None:
    clock = VirtualClock()
    rados = FakeRados(clock)
    a = lease(rados, clock, "jump-a")
    assert await a.acquire()
    assert a.valid()
    rados.down = True
    with pytest.raises(OSError, match="no host answered"):
        await a.renew()
    assert not a.valid()


async def test_two_ha_services_take_turns(tmp_path: Path) -> None:
    clock = VirtualClock()
    rados = FakeRados(clock)
    settings = HaSettings(check_interval=2.0, check_timeout=1.5, grace_period=10.0)

    def service(who: str) -> HaService:
        sim = demo_cluster(clock)
        executor = RunExecutor(RunStore(tmp_path / f"{who}.sqlite3"), clock)
        return HaService(sim, clock, settings, executor, sim_actions(sim),
                         lease=lease(rados, clock, who))

    first, second = service("jump-a"), service("jump-b")
    first.start()
    await clock.advance(1.0)
    second.start()
    await clock.advance(1.0)
    assert first.running
    assert not second.running
    assert second.status().holder == "jump-a"
    await clock.advance(120.0)  # renewals keep it with the first
    assert first.running
    assert not second.running
    await first.stop()  # releases the lock: the second takes over at its next try
    await clock.advance(second.lease.renew_every + 1.0)  # type: ignore[union-attr]
    assert second.running
    assert second.status().holder is None
    await second.stop()
    assert not second.running


async def test_ceph_not_answering_pauses_actions_but_keeps_what_the_service_knows(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    rados = FakeRados(clock)
    sim = demo_cluster(clock)
    settings = HaSettings(check_interval=2.0, check_timeout=1.5, grace_period=10.0)
    service = HaService(sim, clock, settings, RunExecutor(RunStore(tmp_path / "r.sqlite3"), clock),
                        sim_actions(sim), lease=lease(rados, clock, "jump-a"))
    service.start()
    await clock.advance(5.0)
    engine = service.engine
    assert service.running
    assert service.lease is not None
    assert service.lease.valid()
    rados.down = True  # a monitor election, say
    await clock.advance(30.0)
    assert service.running
    assert not service.lease.valid()  # checks go on, actions wait
    assert not service.lease.taken()
    rados.down = False
    await clock.advance(12.0)
    assert service.running
    assert service.lease.valid()
    assert service.engine is engine
    rados.lockers = [Locker("client.1", "other", "jump-b", clock.now() + 60)]  # taken over
    rados.down = True
    await clock.advance(31.0)  # our lease ran out at Ceph, another service took it
    rados.down = False
    await clock.advance(3.0)
    assert not service.running
    assert service.status().holder == "jump-b"
    await service.stop()
