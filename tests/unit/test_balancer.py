"""The auto balancer on the simulator, on a virtual clock: rounds, runs, limits, cool-down.

Host loads are made deterministic by memory: every VM is nearly idle (load 0.02), so a host's
load is the allocated memory of its live VMs over its 64000 MB for VMs (64 GiB less 1536 MB).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.sim import SimBackend, SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.core.balance import BalanceSettings, host_loads
from mvm_tui.core.placement import Limits
from mvm_tui.models import Layout, MigrationProgress, Placement, PowerAction, PowerState, Vm
from mvm_tui.runs import (
    CHECK_FAILED,
    ProgressChanged,
    RunEvent,
    RunExecutor,
    RunRecord,
    RunState,
    RunStore,
    StepState,
)
from mvm_tui.services.balancer import Balancer
from mvm_tui.services.inventory import InventoryPoller, PollTimers

KIND = "c1:balance.migrate"
INTERVAL = 60.0
COOLDOWN = 600.0
PIN, FO, OFF = Placement.PINNED, Placement.FAILOVER, PowerState.SHUTOFF


def host(n: int) -> SimHostSpec:
    return SimHostSpec(f"h{n}", f"10.0.0.{n}", vcpus=32, memory_mb=65536, storage_gb=1000)


def vm(name: str, on: str, mb: int, placement: Placement = Placement.AUTO,
       power: PowerState = PowerState.RUNNING) -> SimVmSpec:
    return SimVmSpec(name, on, vcpus=2, memory_mb=mb, disk_gb=20, placement=placement,
                     power=power, load=0.02)


@dataclass
class World:
    clock: VirtualClock
    sim: SimBackend
    poller: InventoryPoller
    store: RunStore
    executor: RunExecutor
    balancer: Balancer
    peak_total: int = 0
    peak_host: int = 0
    _now: Counter[str] = field(default_factory=Counter)

    def instrument(self, fail: set[str] | None = None, lie: set[str] | None = None) -> None:
        """Count the migrations in flight (in all and per host) at the backend; fail those of
        the VMs named in `fail`; return at once without moving those named in `lie`."""
        real = self.sim.migrate

        async def migrate(name: str, dest: str,
                          on_progress: Callable[[MigrationProgress], None] | None = None) -> None:
            if fail and name in fail:
                raise BackendError(f"injected: migration of {name} to {dest} failed")
            if lie and name in lie:
                return
            pair = Counter([self.sim.where_is(name), dest])
            self._now.update(pair)
            self._now["*"] += 1
            self.peak_total = max(self.peak_total, self._now["*"])
            self.peak_host = max(self.peak_host, *(self._now[h] for h in pair))
            try:
                await real(name, dest, on_progress)
            finally:
                self._now.subtract(pair)
                self._now["*"] -= 1

        self.sim.migrate = migrate  # type: ignore[method-assign,assignment]

    async def start(self) -> None:
        for h in self.sim.hosts:  # a full snapshot before the first round
            await self.poller.poll_host(h.name)
        self.poller.start()
        self.balancer.start()

    async def run_until(self, cond: Callable[[], bool], within: float) -> None:
        """Move the clock deadline by deadline until cond() holds; fail after `within` s."""
        end = self.clock.now() + within
        while not cond():
            await settle()  # tasks just started begin to sleep
            deadline = self.clock.next_deadline
            if deadline is None or deadline > end:
                raise AssertionError(f"not reached within {within:g} s of cluster time")
            await self.clock.advance(deadline - self.clock.now())

    def runs(self, vm: str | None = None) -> list[RunRecord]:
        """The balancing runs in History, oldest first."""
        runs = self.store.list_runs(cluster="c1", vm=vm)
        return sorted((r for r in runs if r.kind == KIND), key=lambda r: r.id)

    def finished(self) -> bool:
        return not self.balancer.in_flight

    def loads(self) -> dict[str, float]:
        return {n: h.pct for n, h in host_loads(self.poller.snapshot()).items()}

    def where(self) -> dict[str, str]:
        return {v: self.sim.where_is(v) for v in self.sim.vm_names()}


Make = Callable[..., World]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., World]]:
    worlds: list[World] = []

    def build(hosts: int, vms: list[SimVmSpec], settings: BalanceSettings,
              bandwidth: float = 1.1e9) -> World:
        clock = VirtualClock()
        spec = SimClusterSpec("c1", Layout.EXTERNAL, [host(n) for n in range(1, hosts + 1)],
                              vms, migration_bandwidth_bps=bandwidth)
        sim = SimBackend(spec, clock)
        poller = InventoryPoller(sim, clock, PollTimers())
        store = RunStore(tmp_path / f"runs{len(worlds)}.db")
        executor = RunExecutor(store, clock)
        balancer = Balancer(sim, clock, executor, settings, Limits(), poller.snapshot,
                            interval=INTERVAL, cooldown=COOLDOWN, vm_changed=poller.update_vm)
        worlds.append(World(clock, sim, poller, store, executor, balancer))
        return worlds[-1]

    yield build
    for w in worlds:
        w.store.close()


async def stop(w: World) -> None:
    await w.balancer.stop()
    await w.poller.stop()


# h1: 32000 MB pinned/failover + 4 x 7000 MB Auto = 60000 MB, 94%; h2 at 37.5%, h3 at 18.75%.
SHED = [
    vm("pin", "h1", 16000, PIN), vm("fo", "h1", 16000, FO),
    *(vm(f"a{i}", "h1", 7000) for i in range(1, 5)),
    vm("h2-db", "h2", 24000, PIN), vm("h3-db", "h3", 12000, PIN),
]
AT_70 = BalanceSettings(enabled=True, threshold_pct=70.0, max_total=2, max_per_host=1)


async def test_an_overloaded_host_sheds_auto_vms_until_under_the_threshold(make: Make) -> None:
    w = make(3, SHED, AT_70)
    w.instrument()
    await w.start()
    assert w.loads()["h1"] == pytest.approx(93.75, abs=1.0)

    await w.run_until(lambda: w.loads()["h1"] <= 70.0 and w.finished(), within=1800)

    runs = w.runs()
    assert [r.state for r in runs] == [RunState.DONE] * 3  # 94% -> 82% -> 71.9% -> 60.9%
    moved = {r.params["vm"]: r.params["target"] for r in runs}
    assert set(moved) <= {"a1", "a2", "a3", "a4"}
    assert runs[0].params["target"] == "h3"  # the least loaded host first
    assert all(w.sim.where_is(v) == t for v, t in moved.items())
    assert w.sim.where_is("pin") == w.sim.where_is("fo") == "h1"
    assert all(pct <= 70.0 for pct in w.loads().values())
    # stable: nothing more moves once every host is under the threshold
    await w.clock.advance(1800)
    assert len(w.runs()) == 3
    assert w.peak_host == 1
    await stop(w)


async def test_pinned_and_failover_vms_are_never_moved(make: Make) -> None:
    vms = [vm("pin", "h1", 30000, PIN), vm("fo", "h1", 30000, FO), vm("small", "h2", 4000)]
    w = make(3, vms, AT_70)
    await w.start()
    assert w.loads()["h1"] > 90.0  # overloaded, but only by VMs balancing may not touch
    before = w.where()
    await w.clock.advance(3600)
    assert w.where() == before
    assert w.runs() == []
    await stop(w)


# 3 hosts at 87.5% (8 x 7000 MB Auto), 3 nearly empty; slow migrations (about 6 min each), so
# rounds every minute see the earlier rounds' migrations still in flight.
CROWD = [vm(f"v{h}{i}", f"h{h}", 7000) for h in (1, 2, 3) for i in range(8)]


@pytest.mark.parametrize(("max_total", "max_per_host"), [(2, 1), (3, 2)])
async def test_never_more_migrations_at_once_than_the_limits(
    make: Make, max_total: int, max_per_host: int
) -> None:
    settings = BalanceSettings(True, 70.0, max_total, max_per_host)
    w = make(6, CROWD, settings, bandwidth=20e6)
    w.instrument()
    await w.start()
    await w.run_until(
        lambda: all(p <= 70.0 for p in w.loads().values()) and w.finished(), within=4 * 3600)
    assert [r.state for r in w.runs()] == [RunState.DONE] * 6  # 2 off each loaded host
    assert w.peak_total == max_total  # reached, never passed
    assert w.peak_host == max_per_host
    await stop(w)


async def test_a_host_is_not_relieved_twice_while_its_migration_is_in_flight(make: Make) -> None:
    # h1 at 75%: one 4000 MB VM brings it under 70%; each migration takes about 14 minutes,
    # while the snapshot still shows the VM on h1 and h1 may take part in 2 migrations.
    vms = [vm("pin", "h1", 40000, PIN), vm("a1", "h1", 4000), vm("a2", "h1", 4000),
           vm("h2-db", "h2", 1000, PIN), vm("h3-db", "h3", 1000, PIN)]
    w = make(3, vms, BalanceSettings(True, 70.0, max_total=2, max_per_host=2), bandwidth=5e6)
    await w.start()
    await w.run_until(lambda: len(w.runs()) == 1, within=5)
    await w.run_until(w.finished, within=3600)
    assert w.clock.now() - w.runs()[0].created > 10 * INTERVAL  # many rounds saw it in flight
    await w.clock.advance(10 * INTERVAL)
    assert len(w.runs()) == 1
    assert sorted(w.sim.vm_names("h1")) == ["a2", "pin"]
    await stop(w)


async def test_the_check_fails_when_the_vm_did_not_arrive(make: Make) -> None:
    w = make(3, LONE, BalanceSettings(enabled=True, threshold_pct=80.0))
    w.instrument(lie={"a1"})
    await w.start()
    await w.run_until(lambda: bool(w.runs()) and w.finished(), within=5)
    [run] = w.runs()
    assert (run.state, run.error) == (RunState.FAILED, CHECK_FAILED)
    log = [line.text for line in w.store.log(run.id)]
    assert "a1 is running on h1; expected running on h2" in log
    await stop(w)


async def test_disabled_nothing_moves_until_enabled(make: Make) -> None:
    w = make(3, SHED, BalanceSettings(enabled=False, threshold_pct=70.0))
    await w.start()
    before = w.where()
    await w.clock.advance(3600)
    assert w.where() == before
    assert w.runs() == []
    assert w.balancer.run_round() == []

    w.balancer.settings = AT_70  # read at every round
    await w.run_until(lambda: len(w.runs()) == 1, within=INTERVAL + 1)
    await stop(w)


async def test_each_move_is_a_run_in_history_with_the_exact_commands(make: Make) -> None:
    w = make(3, SHED, AT_70)
    expected = {
        (name, dest): tuple(w.sim.migrate_commands(await w.sim.vm_info(name), dest))
        for name in ("a1", "a2", "a3", "a4") for dest in ("h2", "h3")
    }
    progress: list[float] = []

    def watch(e: RunEvent) -> None:
        if isinstance(e, ProgressChanged):
            progress.append(e.fraction)

    w.executor.subscribe(watch)
    asked: list[tuple[str, str | None, str]] = []
    real = w.sim.migrate_commands

    def spy(v: Vm, dest: str) -> list[str]:
        asked.append((v.name, v.host, dest))
        return real(v, dest)

    w.sim.migrate_commands = spy  # type: ignore[method-assign,assignment]
    await w.start()
    await w.run_until(lambda: len(w.runs()) == 3 and w.finished(), within=1800)

    first = w.runs()[0]
    assert first.title == "Balance: live-migrate a1 from h1 to h3 (h1 at 94% load, threshold 70%)"
    assert w.store.steps(first.id)[0].preview == (
        "virsh -c 'qemu+libssh2://root@10.0.0.1/system?no_verify=0&no_tty=1&sshauth=privkey,"
        "agent' migrate --live --p2p --persistent --undefinesource a1 'qemu+ssh://root@10.0.0.3"
        "/system?keyfile=/var/lib/mvm-tui/migration/id_ed25519&no_verify=0&no_tty=1&sshauth="
        "privkey,agent'",
    )
    for run in w.runs():
        name, source, dest = run.params["vm"], run.params["source"], run.params["target"]
        assert re.fullmatch(rf"Balance: live-migrate {name} from h1 to {dest} \(h1 at \d+% "
                            r"load, threshold 70%\)", run.title)
        assert (run.targets.host, run.targets.vm) == (source, name)
        [step] = w.store.steps(run.id)
        assert step.title == f"Live-migrate {name} from h1 to {dest}"
        assert step.preview == expected[(name, dest)]
        assert step.state is StepState.DONE
        log = [line.text for line in w.store.log(run.id)]
        assert f"{name} runs on {dest}" in log
        assert any(re.match(rf"running on {dest}: switched over in .* downtime \d+ ms ", t)
                   for t in log)
        assert len(log) == len(set(log))  # no line twice
        assert w.store.list_runs(vm=name)[0].id == run.id  # History per VM
    assert 0.0 < min(progress) < 1.0
    assert max(progress) == 1.0
    assert asked
    assert all(src == "h1" for _, src, _ in asked)  # the VM as it is on its source
    await stop(w)


# h1: 40000 MB pinned + a1 18000 MB = 90.6%; a1 is the only VM that can relieve it.
LONE = [vm("pin", "h1", 40000, PIN), vm("a1", "h1", 18000),
        vm("h2-db", "h2", 10000, PIN), vm("h3-db", "h3", 20000, PIN)]


async def test_a_failed_migration_is_recorded_and_not_retried_within_the_cooldown(
    make: Make,
) -> None:
    w = make(3, LONE, BalanceSettings(enabled=True, threshold_pct=80.0))
    w.instrument(fail={"a1"})
    await w.start()
    t0 = w.clock.now()
    await w.run_until(lambda: bool(w.runs()) and w.finished(), within=5)

    [run] = w.runs("a1")
    assert run.state is RunState.FAILED
    assert run.error == "injected: migration of a1 to h2 failed"
    assert w.store.steps(run.id)[0].state is StepState.FAILED
    assert any("injected: migration of a1" in line.text for line in w.store.log(run.id))
    assert "a1" in w.balancer.cooling()
    assert [a.state for a in w.balancer.recent] == [RunState.FAILED]

    await w.clock.advance(t0 + COOLDOWN - 1 - w.clock.now())  # nine rounds later
    assert len(w.runs("a1")) == 1
    assert w.sim.where_is("a1") == "h1"
    await w.run_until(lambda: len(w.runs("a1")) == 2, within=INTERVAL + 2)  # retried after
    await stop(w)


async def test_a_moved_vm_does_not_move_again_within_the_cooldown(make: Make) -> None:
    vms = [vm("pin", "h1", 46000, PIN), vm("a1", "h1", 12000),
           vm("big", "h2", 46000, PIN, OFF), vm("h3-db", "h3", 30000, PIN)]
    w = make(3, vms, BalanceSettings(enabled=True, threshold_pct=80.0))
    await w.start()
    await w.run_until(lambda: w.sim.where_is("a1") == "h2" and w.finished(), within=60)
    moved_at = w.clock.now()

    # h2 becomes overloaded, a1 is its only Auto VM and h3 has room for it
    await w.sim.vm_power(await w.sim.vm_info("big"), PowerAction.START)
    await w.run_until(lambda: w.loads()["h2"] > 80.0, within=10)
    await w.clock.advance(moved_at + COOLDOWN - 1 - w.clock.now())
    assert w.sim.where_is("a1") == "h2"
    assert len(w.runs("a1")) == 1

    await w.run_until(lambda: w.sim.where_is("a1") == "h3" and w.finished(),
                      within=INTERVAL + 60)
    assert [r.state for r in w.runs("a1")] == [RunState.DONE, RunState.DONE]
    await stop(w)


async def test_stop_cancels_rounds_and_migrations_in_flight(make: Make) -> None:
    w = make(3, SHED, AT_70, bandwidth=20e6)
    await w.start()
    await w.run_until(lambda: bool(w.balancer.in_flight), within=5)
    async with asyncio.timeout(5):  # a guard against a hang, not a synchronisation
        await w.balancer.stop()
    assert not w.balancer.running
    [run] = w.runs()
    assert w.store.get_run(run.id).state is RunState.INTERRUPTED
    assert w.balancer.in_flight == []
    await w.clock.advance(3600)
    assert len(w.runs()) == 1
    await w.poller.stop()
