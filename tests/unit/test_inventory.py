"""The inventory poller on the simulator: per-host loops, timeouts, states and events."""

from __future__ import annotations

from collections.abc import Callable

from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.models import HostPoll, HostState, PowerAction, PowerState
from mvm_tui.services.inventory import InventoryPoller, PollTimers

TIMERS = PollTimers(interval=2.0, timeout=8.0, slow_threshold=3.0, metrics_window=600.0)


def make() -> tuple[VirtualClock, SimBackend, InventoryPoller]:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    return clock, sim, InventoryPoller(sim, clock, TIMERS)


def states(poller: InventoryPoller) -> dict[str, HostState]:
    return {h.name: h.state for h in poller.snapshot().hosts}


def polls(poller: InventoryPoller, host: str) -> int:
    return len(poller.host_history(host))


async def test_first_round_fills_the_snapshot() -> None:
    clock, _sim, poller = make()
    poller.start()
    await clock.advance(0.5)
    snap = poller.snapshot()
    assert states(poller) == dict.fromkeys(["hv1", "hv2", "hv3"], HostState.ONLINE)
    assert len({v.name for v in snap.vms}) == len(snap.vms) >= 7
    assert snap.ceph is not None
    assert snap.ceph.health == "HEALTH_OK"
    await poller.stop()


async def test_a_slow_host_never_delays_the_others() -> None:
    clock, sim, poller = make()
    sim.set_latency("hv2", 5.0)
    poller.start()
    await clock.advance(20.0)
    # hv1 is polled every 2 s whatever hv2 does; hv2 every 5 + 2 s.
    assert polls(poller, "hv1") == 11
    assert polls(poller, "hv2") == 3
    assert states(poller)["hv2"] is HostState.SLOW
    assert states(poller)["hv1"] is HostState.ONLINE
    await poller.stop()


async def test_a_cut_host_shows_unreachable_and_comes_back() -> None:
    clock, sim, poller = make()
    poller.start()
    await clock.advance(1.0)
    sim.cut_network("hv3")
    await clock.advance(10.0)
    hv3 = next(h for h in poller.snapshot().hosts if h.name == "hv3")
    assert hv3.state is HostState.UNREACHABLE
    assert hv3.error == "no answer within 8 s"
    assert all(v.power is PowerState.UNKNOWN for v in poller.snapshot().vms if v.host == "hv3")
    assert polls(poller, "hv1") == 6  # went on every 2 s
    assert any(e.subject == "hv3" and "unreachable" in e.message for e in poller.events())
    sim.restore_host("hv3")
    await clock.advance(12.0)
    assert states(poller)["hv3"] is HostState.ONLINE
    assert any(e.subject == "hv3" and "back" in e.message for e in poller.events())
    await poller.stop()


async def test_metric_history_is_bounded() -> None:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    poller = InventoryPoller(sim, clock, PollTimers(interval=2.0, metrics_window=20.0))
    poller.start()
    await clock.advance(100.0)
    assert polls(poller, "hv1") == 11
    await poller.stop()


async def test_vm_power_change_becomes_an_event() -> None:
    clock, sim, poller = make()
    poller.start()
    await clock.advance(0.5)
    vm = next(v for v in poller.snapshot().vms if v.power is PowerState.RUNNING)
    await sim.vm_power(vm, PowerAction.POWEROFF)
    await clock.advance(2.0)
    assert any(e.subject == vm.name and "shut off" in e.message for e in poller.events())
    await poller.stop()


async def test_a_change_the_backend_reports_is_polled_at_once() -> None:
    clock, sim, poller = make()
    watched: list[Callable[[str], None]] = []

    def watch(changed: Callable[[str], None]) -> None:
        watched.append(changed)

    sim.watch = watch  # type: ignore[method-assign]
    poller.start()
    await clock.advance(0.5)
    assert watched == [poller.poke]
    before = polls(poller, "hv2")
    poller.poke("hv2")
    await clock.advance(0.0)  # no time passes: only the poke can cause a poll
    assert polls(poller, "hv2") == before + 1
    assert polls(poller, "hv1") == 1
    await clock.advance(2.0)  # and the interval goes on as before
    assert polls(poller, "hv1") == 2
    await poller.stop()


async def test_a_removed_host_leaves_the_snapshot_at_once_and_is_polled_no_more() -> None:
    clock, sim, poller = make()
    sim.set_latency("hv3", 1.5)  # its poll is in flight when it is removed
    poller.start()
    await clock.advance(2.5)
    seen: list[int] = []
    poller.subscribe(lambda: seen.append(1))
    before = polls(poller, "hv3")
    await clock.advance(0.5)  # hv3's next poll started
    poller.remove_host("hv3")
    assert seen  # listeners told at once
    assert set(states(poller)) == {"hv1", "hv2"}
    assert all(v.host != "hv3" for v in poller.snapshot().vms)
    assert any(e.subject == "hv3" and "decommissioned" in e.message for e in poller.events())
    await clock.advance(10.0)  # the poll in flight lands nowhere, no new one starts
    assert set(states(poller)) == {"hv1", "hv2"}
    assert polls(poller, "hv3") == 0 < before
    poller.remove_host("hv3")  # twice: nothing happens
    await poller.stop()


async def test_a_live_migration_shows_running_on_its_source_until_the_switch_over() -> None:
    """The destination lists the incoming domain paused from the migration's start (seen in
    the lab, tests/fixtures/figures/jobstats-migration.json: dest_state [3, 2]): the VM runs
    on its source until the switch-over, and then on the destination."""
    clock, sim, poller = make()
    real_poll = sim.poll_host
    stage = {"now": "copying"}
    await poller.poll_host("hv1")
    await poller.poll_host("hv2")  # what a host lists at its first answer is no event
    vm = next(v for v in poller.snapshot().vms
              if v.host == "hv1" and v.power is PowerState.RUNNING)

    async def poll_host(host: str) -> HostPoll:
        poll = await real_poll(host)
        vms = tuple(v for v in poll.vms if v.name != vm.name)
        if host == "hv1" and stage["now"] == "copying":
            vms = (*vms, vm)
        if host == "hv2":
            power = PowerState.PAUSED if stage["now"] == "copying" else PowerState.RUNNING
            vms = (*vms, vm.model_copy(update={"host": "hv2", "power": power}))
        return poll.model_copy(update={"vms": vms})

    sim.poll_host = poll_host  # type: ignore[method-assign]
    await poller.poll_host("hv1")
    await clock.advance(1.0)
    await poller.poll_host("hv2")  # heard from last, its paused copy does not win
    shown = next(v for v in poller.snapshot().vms if v.name == vm.name)
    assert (shown.host, shown.power) == ("hv1", PowerState.RUNNING)
    stage["now"] = "done"
    await poller.poll_host("hv1")
    await poller.poll_host("hv2")
    shown = next(v for v in poller.snapshot().vms if v.name == vm.name)
    assert (shown.host, shown.power) == ("hv2", PowerState.RUNNING)
    said = [e.message for e in reversed(poller.events()) if e.subject == vm.name]
    assert said == ["arriving on hv2 from hv1 (live migration)", "paused → running"]
