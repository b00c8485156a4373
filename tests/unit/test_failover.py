"""Failover decisions (core.failover), property-tested over random clusters and random event
sequences; the drill; the HA lock; the headless entry point."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvm_tui.backends.sim import demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.core.failover import (
    Decision,
    FailoverEngine,
    HaSettings,
    Kind,
    Observation,
    Phase,
    drill,
    plan_restarts,
)
from mvm_tui.core.placement import Limits
from mvm_tui.ha_cli import EXIT_LOCKED, build_ha_service, run_ha
from mvm_tui.models import (
    HostFacts,
    HostMetrics,
    HostPoll,
    Layout,
    Placement,
    PowerState,
    StopReason,
    Vm,
)
from mvm_tui.services.ha_lock import HaLock, HaLockHeld
from mvm_tui.services.inventory import InventoryPoller, PollTimers
from mvm_tui.session import open_session

SETTINGS = HaSettings()
LIMITS = Limits()


# -- a model cluster the engine's decisions are applied to -------------------------------------


@dataclass
class ModelHost:
    name: str
    memory_mb: int
    vcpus: int
    powered: bool = True
    cut: bool = False
    maintenance: bool = False

    @property
    def up(self) -> bool:
        return self.powered and not self.cut


@dataclass
class ModelVm:
    name: str
    host: str  # where it is defined
    memory_mb: int
    vcpus: int
    placement: Placement
    copies: set[str] = field(default_factory=set)  # hosts where a copy runs and can write


@dataclass
class Model:
    hosts: dict[str, ModelHost]
    vms: dict[str, ModelVm]
    fenced: set[str] = field(default_factory=set)
    log: list[Decision] = field(default_factory=list)

    def poll(self, host: str, t: float) -> HostPoll:
        h = self.hosts[host]
        vms = tuple(
            Vm(name=v.name, uuid=v.name, host=host, vcpus=v.vcpus, memory_mb=v.memory_mb,
               placement=v.placement,
               power=PowerState.RUNNING if host in v.copies else PowerState.SHUTOFF)
            for v in self.vms.values() if v.host == host
        )
        return HostPoll(facts=HostFacts(vcpus=h.vcpus, memory_mb=h.memory_mb),
                        metrics=HostMetrics(time=t, cpu_pct=0.0, mem_used_mb=0), vms=vms,
                        maintenance=h.maintenance)

    def check_invariants(self) -> None:
        for v in self.vms.values():
            assert len(v.copies) <= 1, f"{v.name} runs on {sorted(v.copies)}"
        for h in self.hosts.values():
            live = [v for v in self.vms.values() if h.name in v.copies]
            assert sum(v.memory_mb for v in live) <= h.memory_mb - LIMITS.host_reserve_mb
            assert sum(v.vcpus for v in live) <= h.vcpus * LIMITS.cpu_overcommit


def carry_out(model: Model, engine: FailoverEngine, decisions: list[Decision], t: float) -> None:
    for d in decisions:
        model.log.append(d)
        if d.kind is Kind.FENCE:
            model.fenced.add(d.host)
            for v in model.vms.values():  # a blocklisted host's guests cannot write: dead
                v.copies.discard(d.host)
            carry_out(model, engine, engine.fence_done(d.host, t), t)
        elif d.kind is Kind.UNFENCE:
            model.fenced.discard(d.host)
        elif d.kind in (Kind.RESTART, Kind.FAILBACK):
            assert d.vm is not None
            assert d.target is not None
            v = model.vms[d.vm]
            assert v.placement is not Placement.PINNED, f"pinned {v.name} moved"
            if d.kind is Kind.RESTART and d.host != d.target:
                assert d.host in model.fenced, f"{v.name} restarted before {d.host} was fenced"
            assert d.target not in model.fenced
            if not model.hosts[d.target].up:
                # decided on the last checks, the target went down since: the run cannot reach
                # it and fails (as the HA service's runs do); the engine is told
                failed = (engine.restart_failed(d.vm, t, f"{d.target} unreachable")
                          if d.kind is Kind.RESTART
                          else engine.failback_failed(d.vm, d.host, t, f"{d.target} unreachable"))
                carry_out(model, engine, failed, t)
                continue
            if d.kind is Kind.FAILBACK:
                v.copies.clear()  # a live migration: the copy moves
            v.host = d.target
            v.copies.add(d.target)
        model.check_invariants()


EVENTS = ("power-off", "network-off", "restore", "flap", "maintenance-on", "maintenance-off")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Model, list[tuple[int, str, str, int]]]:
    n = draw(st.integers(2, 5))
    hosts = {f"h{i}": ModelHost(f"h{i}", draw(st.sampled_from([4096, 8192, 16384])),
                                draw(st.sampled_from([1, 2, 4])))
             for i in range(1, n + 1)}
    used = dict.fromkeys(hosts, (0, 0))
    vms: dict[str, ModelVm] = {}
    for i in range(draw(st.integers(0, 14))):
        host = draw(st.sampled_from(sorted(hosts)))
        mem, cpus = draw(st.sampled_from([512, 1024, 2048, 4096])), draw(st.integers(1, 4))
        live = draw(st.booleans())
        m, c = used[host]
        h = hosts[host]
        if live and (m + mem > h.memory_mb - LIMITS.host_reserve_mb
                     or c + cpus > h.vcpus * LIMITS.cpu_overcommit):
            live = False  # the initial cluster respects capacity
        if live:
            used[host] = (m + mem, c + cpus)
        vms[f"vm{i}"] = ModelVm(f"vm{i}", host, mem, cpus, draw(st.sampled_from(list(Placement))),
                                {host} if live else set())
    events = draw(st.lists(st.tuples(st.integers(1, 60), st.sampled_from(EVENTS),
                                     st.sampled_from(sorted(hosts)), st.integers(1, 5)),
                           max_size=8))
    return Model(hosts, vms), sorted(events)


def apply_event(model: Model, kind: str, host: str) -> None:
    h = model.hosts[host]
    if kind == "power-off":
        h.powered = False
        for v in model.vms.values():
            v.copies.discard(host)
    elif kind == "network-off":
        h.cut = True
    elif kind == "restore":
        h.powered, h.cut = True, False
    elif kind in ("maintenance-on", "maintenance-off"):
        h.maintenance = kind == "maintenance-on"


def run(model: Model, events: list[tuple[int, str, str, int]], priorities: dict[str, int],
        ticks: int = 40) -> FailoverEngine:
    """Checks every 5 s (tick k = 5k s) of every host; events at the start of their tick;
    a flap cuts a host for fewer ticks than the grace period."""
    s = HaSettings(priorities=priorities)
    engine = FailoverEngine(s, model.hosts, Layout.HCI)
    restore_at: dict[int, list[str]] = {}
    for tick in range(ticks):
        t = tick * s.check_interval
        for host in restore_at.pop(tick, []):
            apply_event(model, "restore", host)
        for when, kind, host, length in events:
            if when == tick:
                if kind == "flap":
                    apply_event(model, "network-off", host)
                    restore_at.setdefault(tick + length, []).append(host)
                else:
                    apply_event(model, kind, host)
        for name, h in model.hosts.items():
            obs = Observation(name, t, h.up, model.poll(name, t) if h.up else None,
                              osds_down=not h.up)
            carry_out(model, engine, engine.observe(obs), t)
    return engine


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.dictionaries(st.sampled_from([f"vm{i}" for i in range(14)]),
                                    st.integers(0, 3)))
def test_random_clusters_and_events_keep_every_invariant(
    case: tuple[Model, list[tuple[int, str, str, int]]], priorities: dict[str, int]
) -> None:
    model, events = case
    pinned_homes = {v.name: v.host for v in model.vms.values() if v.placement is Placement.PINNED}
    run(model, events, priorities)
    # (carry_out checked at every step: one copy per VM, capacity, fence before restart)
    for name, home in pinned_homes.items():
        assert model.vms[name].host == home


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=6))
def test_a_host_that_flaps_shorter_than_the_grace_period_never_fails_over(
    flaps: list[tuple[int, int]],
) -> None:
    # each flap: up for `gap` ticks, then down for `down` ticks (at most 25 s < 30 s grace)
    model = Model({"h1": ModelHost("h1", 16384, 8), "h2": ModelHost("h2", 16384, 8)},
                  {"a": ModelVm("a", "h1", 1024, 1, Placement.AUTO, {"h1"})})
    events: list[tuple[int, str, str, int]] = []
    tick = 1
    for gap, down in flaps:
        tick += gap + 1
        events.append((tick, "flap", "h1", down))
        tick += down
    engine = run(model, events, {}, ticks=tick + 4)
    kinds = {d.kind for d in model.log}
    assert not kinds & {Kind.LOST, Kind.FENCE, Kind.RESTART}
    assert engine.phase("h1") is Phase.OK
    assert model.vms["a"].copies == {"h1"}


def test_a_host_down_for_the_grace_period_is_lost_fenced_then_restarted() -> None:
    model = Model({"h1": ModelHost("h1", 16384, 8), "h2": ModelHost("h2", 16384, 8)},
                  {"a": ModelVm("a", "h1", 1024, 1, Placement.FAILOVER, {"h1"}),
                   "p": ModelVm("p", "h1", 1024, 1, Placement.PINNED, {"h1"})})
    run(model, [(1, "network-off", "h1", 0)], {}, ticks=10)
    lines = [d.line() for d in model.log]
    assert lines == ["5.0 suspect h1", "35.0 lost h1", "35.0 fence h1", "35.0 restart a on h2",
                     "35.0 stay-down p: pinned"]
    assert model.vms["a"].copies == {"h2"}
    assert model.vms["p"].copies == set()


def test_no_restart_without_a_confirmed_fence() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    model = Model({"h1": ModelHost("h1", 16384, 8), "h2": ModelHost("h2", 16384, 8)},
                  {"a": ModelVm("a", "h1", 1024, 1, Placement.AUTO, {"h1"})})
    for name in ("h1", "h2"):
        engine.observe(Observation(name, 0.0, True, model.poll(name, 0.0)))
    out: list[Decision] = []
    for k in range(1, 20):  # h1 silent; the fence is never confirmed
        out += engine.observe(Observation("h1", 5.0 * k, False))
    assert Kind.FENCE in {d.kind for d in out}
    assert Kind.RESTART not in {d.kind for d in out}
    assert engine.phase("h1") is Phase.FENCING
    assert [d.kind for d in engine.fence_failed("h1", 100.0, "no quorum")] == [Kind.FENCE_FAILED]


def _poll(host: str, t: float, *vms: tuple[str, PowerState]) -> HostPoll:
    return HostPoll(
        facts=HostFacts(vcpus=8, memory_mb=16384),
        metrics=HostMetrics(time=t, cpu_pct=0.0, mem_used_mb=0),
        vms=tuple(Vm(name=n, uuid=n, host=host, vcpus=1, memory_mb=1024,
                     placement=Placement.FAILOVER, power=power) for n, power in vms))


@pytest.mark.parametrize("stale_power", [PowerState.RUNNING, PowerState.SHUTOFF])
@pytest.mark.parametrize("failback", ["on", "off"])
def test_a_returned_hosts_copy_of_a_restarted_vm_is_stale_and_removed_before_unfencing(
    stale_power: PowerState, failback: str,
) -> None:
    """A real host that was only cut off still runs its guests (RUNNING), one that was powered
    off still has their definitions (SHUTOFF): either copy is stale once the VM runs elsewhere."""
    engine = FailoverEngine(HaSettings(failback=failback), ["h1", "h2"])  # type: ignore[arg-type]
    up = PowerState.RUNNING
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", up))))
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0)))
    for k in range(1, 8):
        engine.observe(Observation("h1", 5.0 * k, False))
    assert [d.line() for d in engine.fence_done("h1", 36.0)] == ["36.0 restart a on h2"]
    engine.observe(Observation("h2", 40.0, True, _poll("h2", 40.0, ("a", up))))

    # SSH answers, libvirt not yet: it has not said what it runs, so it is not back yet
    assert engine.observe(Observation("h1", 42.0, True, None)) == []
    back = engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0, ("a", stale_power))))
    kinds = [(d.kind, d.vm) for d in back]
    expected = [(Kind.RETURNED, None), (Kind.STALE, "a"), (Kind.UNFENCE, None)]
    if failback == "on":
        expected.append((Kind.FAILBACK, "a"))
    assert kinds == expected
    if failback == "off":
        # until the stale copy is gone from h1, the VM is where it really runs
        engine.observe(Observation("h1", 50.0, True, _poll("h1", 50.0, ("a", stale_power))))
        assert [v.host for v in engine.view(50.0).vms] == ["h2"]
        engine.observe(Observation("h1", 55.0, True, _poll("h1", 55.0)))
        engine.observe(Observation("h2", 55.0, True, _poll("h2", 55.0, ("a", up))))
        assert [v.host for v in engine.view(55.0).vms] == ["h2"]


def test_a_service_started_after_a_loss_still_removes_the_stale_copies() -> None:
    """A fresh engine (the HA service restarted, or took over from another jump box) never
    saw the restart, only the VM running on h2: h1's copy is stale all the same, and a
    shut-off definition never hides the running copy."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    up, off = PowerState.RUNNING, PowerState.SHUTOFF
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0, ("a", up))))
    for k in range(0, 8):
        engine.observe(Observation("h1", 5.0 * k, False))
    assert engine.fence_done("h1", 36.0) == []  # nothing of h1's known: nothing restarted
    back = engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0, ("a", off))))
    assert [(d.kind, d.vm) for d in back] == [
        (Kind.RETURNED, None), (Kind.STALE, "a"), (Kind.UNFENCE, None)]
    engine.observe(Observation("h1", 50.0, True, _poll("h1", 50.0, ("a", off))))
    assert [(v.host, v.power) for v in engine.view(50.0).vms] == [("h2", up)]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=re.escape(
            "grace_period (1 s) must be at least check_interval (5 s)")):
        HaSettings(grace_period=1.0)
    with pytest.raises(ValueError, match=re.escape(
            "blocklist_expiry (10 s) must be longer than grace_period (30 s)")):
        HaSettings(blocklist_expiry=10.0)
    with pytest.raises(ValueError, match="failback must be on, off or ask, not 'maybe'"):
        HaSettings(failback="maybe")  # type: ignore[arg-type]


# -- the drill ----------------------------------------------------------------------------------


async def test_the_drill_says_where_everything_would_go_and_touches_nothing() -> None:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    poller = InventoryPoller(sim, clock, PollTimers())
    poller.start()
    await clock.advance(0.5)
    snap = poller.snapshot()
    report = drill(snap, "hv1")
    await poller.stop()
    # hv2 runs 7 GB of VMs, hv3 2 GB: both go to hv3, the larger first
    assert report.restarts == (("db-01", "hv3"), ("web-01", "hv3"))
    assert [vm for vm, _ in report.stay_down] == ["license-srv"]
    assert report.capacity_ok
    assert all(t != "hv1" for _, t in report.restarts)
    assert sim.where_is("db-01") == "hv1"
    assert sim.blocklist() == []
    assert report.lines()[0] == "if hv1 is lost now:"
    with pytest.raises(ValueError, match="no host named 'nope' in cluster"):
        drill(snap, "nope")


def test_the_drill_reports_too_little_room() -> None:
    model = Model({"h1": ModelHost("h1", 8192, 4), "h2": ModelHost("h2", 4096, 4)},
                  {"big": ModelVm("big", "h1", 4096, 1, Placement.AUTO, {"h1"})})
    engine = FailoverEngine(HaSettings(), model.hosts)
    for name in model.hosts:
        engine.observe(Observation(name, 0.0, True, model.poll(name, 0.0)))
    report = drill(engine.view(0.0), "h1")
    assert report.restarts == ()
    assert not report.capacity_ok
    assert report.stay_down[0][0] == "big"
    assert "no host has room" in report.stay_down[0][1]


# -- the lock and the headless service -----------------------------------------------------------


def test_only_one_ha_service_holds_a_clusters_lock(tmp_path: Path) -> None:
    first, second = HaLock("demo", tmp_path), HaLock("demo", tmp_path)
    assert first.holder() is None
    first.acquire()
    with pytest.raises(HaLockHeld, match="already running"):
        second.acquire()
    assert "pid" in (second.holder() or "")
    first.release()
    second.acquire()
    assert second.held
    second.release()
    assert HaLock("other", tmp_path).holder() is None


async def test_run_ha_headless_on_the_demo_and_its_lock(tmp_path: Path) -> None:
    clock = VirtualClock()
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(run_ha(None, demo=True, stop=stop, clock=clock,
                                      db_path=tmp_path / "runs.sqlite3", lock_dir=tmp_path,
                                      out=out))
    await clock.advance(1.0)
    assert "demo: HA service active" in out.getvalue()
    assert await run_ha(None, demo=True, clock=clock, db_path=tmp_path / "r2.sqlite3",
                        lock_dir=tmp_path, out=io.StringIO()) == EXIT_LOCKED
    await clock.advance(60.0)
    stop.set()
    assert await task == 0
    assert HaLock("demo", tmp_path).holder() is None


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_active_ha_service_runs_the_balancer_when_enabled(
    tmp_path: Path, enabled: bool
) -> None:
    config = demo_config()
    cluster_config = config.clusters[0]
    cluster_config = cluster_config.model_copy(
        update={"balance": cluster_config.balance.model_copy(update={"enabled": enabled})})
    config = config.model_copy(update={"clusters": [cluster_config]})
    clock = VirtualClock()
    session = open_session(config, demo=False, clock=clock, backend=demo_cluster(clock),
                           db_path=tmp_path / "runs.sqlite3")
    service = build_ha_service(session, session.clusters[0], tmp_path)
    if not enabled:
        assert service.balancer is None
        return
    assert service.balancer is not None
    assert not service.balancer.running
    service.start()
    assert service.balancer.running  # only the service that holds the lock balances
    await service.stop()
    assert not service.balancer.running
    await session.close()


def _lost_h1_with(engine: FailoverEngine, *others: str) -> None:
    up = PowerState.RUNNING
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", up))))
    for name in others:
        engine.observe(Observation(name, 0.0, True, _poll(name, 0.0)))
    for k in range(1, 8):
        engine.observe(Observation("h1", 5.0 * k, False))


def test_a_host_still_fenced_is_never_a_restart_target() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2", "h3"])
    engine.unusable["h2"] = "its unfence failed"
    _lost_h1_with(engine, "h2", "h3")
    assert [d.line() for d in engine.fence_done("h1", 36.0)] == ["36.0 restart a on h3"]


def test_a_failed_restart_is_tried_at_once_on_another_host_not_again_on_the_same() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2", "h3"])
    _lost_h1_with(engine, "h2", "h3")
    assert [d.line() for d in engine.fence_done("h1", 36.0)] == ["36.0 restart a on h2"]
    engine.restart_ended("a")
    out = engine.restart_failed("a", 37.0, "h2 refused it", target="h2")
    assert [d.line() for d in out] == ["37.0 restart-failed a: h2 refused it",
                                       "37.0 restart a on h3: tried again"]
    engine.restart_ended("a")
    # it fails on h3 too: it waits; h2 and h3 answer, but neither is tried before fence_retry
    assert [d.line() for d in engine.restart_failed("a", 38.0, "no", target="h3")] == [
        "38.0 restart-failed a: no"]
    for t in (40.0, 45.0):
        assert engine.observe(Observation("h2", t, True, _poll("h2", t))) == []
        assert engine.observe(Observation("h3", t, True, _poll("h3", t))) == []
    assert engine.waiting() == {"a": "h1"}
    assert [d.line() for d in engine.observe(Observation("h2", 70.0, True, _poll("h2", 70.0)))
            ] == ["70.0 restart a on h2: room now"]


async def test_the_drills_prediction_is_what_ha_then_does(tmp_path: Path) -> None:
    """h2 and h3 hold the same VMs, h2's busy (its CPU load is high): HA, which plans from
    its own checks, picks by room alone. The drill, asked before h1 is lost (from the
    inventory, or from the active service), predicts exactly the restarts HA then makes."""
    from mvm_tui.backends.sim import SimBackend, SimClusterSpec, SimHostSpec, SimVmSpec
    from mvm_tui.models import Layout
    from mvm_tui.runs import RunExecutor, RunStore
    from mvm_tui.services.ha import HaService
    from tests.sim_ha import sim_actions

    clock = VirtualClock()
    hosts = [SimHostSpec(n, f"10.0.0.{i}", 8, 16384, 100.0) for i, n in
             enumerate(("h1", "h2", "h3"), 1)]
    vms = [SimVmSpec("a", "h1", 1, 2048, 10.0), SimVmSpec("b", "h1", 1, 1024, 10.0),
           SimVmSpec("c", "h1", 2, 3072, 10.0, placement=Placement.FAILOVER),
           SimVmSpec("busy", "h2", 4, 2048, 10.0, load=1.0),
           SimVmSpec("idle", "h3", 4, 2048, 10.0, load=0.0)]
    sim = SimBackend(SimClusterSpec("c1", Layout.EXTERNAL, hosts, vms), clock)
    settings = HaSettings(check_interval=2, check_timeout=1.5, grace_period=10)
    service = HaService(sim, clock, settings,
                        RunExecutor(RunStore(tmp_path / "runs.sqlite3"), clock),
                        sim_actions(sim))
    poller = InventoryPoller(sim, clock, PollTimers())
    poller.start()
    service.start()
    await clock.advance(30.0)
    snap = poller.snapshot()
    h2_cpu = next(h.cpu_pct for h in snap.hosts if h.name == "h2")
    assert h2_cpu is not None
    assert round(h2_cpu) > 20
    from_inventory = drill(snap, "h1", settings)
    from_service = service.engine.drill("h1", clock.now())
    sim.power_off_host("h1")
    await clock.advance(60.0)
    done = tuple((d.vm, d.target) for d in service.decisions if d.kind is Kind.RESTART)
    await service.stop()
    await poller.stop()
    assert len(done) == 3
    assert from_service.restarts == done
    assert from_inventory.restarts == done
    # the drill before (the inventory's snapshot, load counted) would have said otherwise
    assert plan_restarts(snap, "h1", settings).restarts != done


def test_vms_killed_by_a_self_fence_the_checks_did_not_see_start_again_on_their_host() -> None:
    """Killed while HA saw the host answer all along (a cut shorter than a check interval,
    or checks slowed down by latency): nobody restarted them elsewhere, so they start there."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", PowerState.RUNNING))))
    poll = _poll("h1", 5.0, ("a", PowerState.SHUTOFF)).model_copy(
        update={"self_fenced": ("a",)})
    out = engine.observe(Observation("h1", 5.0, True, poll))
    assert [(d.kind, d.vm, d.target) for d in out] == [
        (Kind.SELF_FENCED, None, "h1"), (Kind.RESTART, "a", "h1")]


def test_vms_killed_by_a_self_fence_still_active_stay_down_until_it_ends() -> None:
    """Cut off from its peers only: its self-fence would kill them again at once. They are
    said to be down once (not restarted over and over), and start when it has a majority."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", PowerState.RUNNING))))
    held = _poll("h1", 5.0, ("a", PowerState.SHUTOFF)).model_copy(
        update={"self_fenced": ("a",), "self_fence_active": True})
    out = engine.observe(Observation("h1", 5.0, True, held))
    assert [(d.kind, d.vm, d.reason) for d in out] == [(Kind.STAY_DOWN, "a", "self-fenced")]
    assert engine.observe(Observation("h1", 10.0, True, held)) == []
    back = held.model_copy(update={"self_fence_active": False})
    out = engine.observe(Observation("h1", 15.0, True, back))
    assert [(d.kind, d.vm, d.target) for d in out] == [
        (Kind.SELF_FENCED, None, "h1"), (Kind.RESTART, "a", "h1")]


def test_a_self_fence_marker_of_vms_running_elsewhere_is_cleared_not_acted_on() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0, ("a", PowerState.RUNNING))))
    poll = _poll("h1", 5.0).model_copy(update={"self_fenced": ("a",)})
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0)))
    out = engine.observe(Observation("h1", 5.0, True, poll))
    assert [(d.kind, d.target) for d in out] == [(Kind.SELF_FENCED, None)]


def test_a_host_back_before_its_fence_ran_gets_what_its_self_fence_killed_started() -> None:
    """Lost, its fence still queued (the actor busy with a long failback), it answers again:
    nothing of it was restarted elsewhere, so the VMs its self-fence killed start on it."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    _lost_h1_with(engine, "h2")
    assert engine.phase("h1") is Phase.FENCING  # decided, never carried out
    poll = _poll("h1", 50.0, ("a", PowerState.SHUTOFF)).model_copy(
        update={"self_fenced": ("a",)})
    out = engine.observe(Observation("h1", 50.0, True, poll))
    assert [(d.kind, d.vm, d.target) for d in out] == [
        (Kind.SELF_FENCED, None, "h1"), (Kind.RETURNED, None, None),
        (Kind.UNFENCE, None, None), (Kind.RESTART, "a", "h1")]


def test_a_self_fence_marker_read_again_before_it_is_cleared_is_decided_once() -> None:
    """HA clears the marker when it reaches that decision (maybe behind others): the checks
    in between read the same marker, and nothing is restarted twice. Once cleared, a marker
    is news again."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", PowerState.RUNNING))))
    marked = _poll("h1", 5.0, ("a", PowerState.SHUTOFF)).model_copy(
        update={"self_fenced": ("a",)})
    first = engine.observe(Observation("h1", 5.0, True, marked))
    assert [(d.kind, d.vm) for d in first] == [(Kind.SELF_FENCED, None), (Kind.RESTART, "a")]
    assert engine.observe(Observation("h1", 10.0, True, marked)) == []  # not cleared yet
    engine.observe(Observation("h1", 15.0, True, _poll("h1", 15.0, ("a", PowerState.RUNNING))))
    again = _poll("h1", 20.0, ("a", PowerState.SHUTOFF)).model_copy(
        update={"self_fenced": ("a",)})
    out = engine.observe(Observation("h1", 20.0, True, again))  # killed again: news
    assert [(d.kind, d.vm) for d in out] == [(Kind.SELF_FENCED, None), (Kind.RESTART, "a")]


def test_vms_that_died_with_their_host_start_again_there_but_not_those_someone_stopped() -> None:
    """A power cut its checks saw as a short outage (back before the grace period): what
    libvirt says after the host restarted tells a VM that died with it ("unknown") from one
    someone powered off or shut down meanwhile (its reason says so), and from one that was
    already off."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    engine.observe(Observation("h1", 0.0, True, _poll(
        "h1", 0.0, ("a", PowerState.RUNNING), ("b", PowerState.RUNNING),
        ("c", PowerState.RUNNING), ("off", PowerState.SHUTOFF))))
    engine.observe(Observation("h1", 5.0, False, None))
    after = _poll("h1", 10.0, ("a", PowerState.SHUTOFF), ("b", PowerState.SHUTOFF),
                  ("c", PowerState.SHUTOFF), ("off", PowerState.SHUTOFF))
    reasons = {"a": StopReason.UNKNOWN, "b": StopReason.DESTROYED, "c": StopReason.SHUTDOWN,
               "off": StopReason.UNKNOWN}
    after = after.model_copy(update={"vms": tuple(
        v.model_copy(update={"stop_reason": reasons[v.name]}) for v in after.vms)})
    out = engine.observe(Observation("h1", 10.0, True, after))
    assert [(d.kind, d.vm, d.target, d.reason) for d in out] == [
        (Kind.OK, None, None, "answered again"),
        (Kind.RESTART, "a", "h1", "it died with its host")]


def test_a_failback_that_failed_belongs_to_the_host_it_was_going_back_to() -> None:
    """(its incident is that host's: the soak showed it filed under no host)"""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0, ("a", PowerState.SHUTOFF))))
    (d,) = engine.failback_failed("a", "h1", 5.0, "domain is not running")
    assert (d.kind, d.host, d.vm) == (Kind.FAILBACK_FAILED, "h1", "a")


@pytest.mark.parametrize("failback", ["on", "ask"])
def test_a_failback_put_off_while_its_host_is_silent_happens_when_it_answers(
    failback: str,
) -> None:
    """h1 returns while h2, where its VM was restarted, misses a check (a loaded machine): the
    failback is not dropped, it is decided at h2's next answer."""
    engine = FailoverEngine(HaSettings(failback=failback), ["h1", "h2"])  # type: ignore[arg-type]
    up = PowerState.RUNNING
    _lost_h1_with(engine, "h2")
    assert [d.line() for d in engine.fence_done("h1", 36.0)] == ["36.0 restart a on h2"]
    engine.restart_ended("a")
    engine.observe(Observation("h2", 40.0, True, _poll("h2", 40.0, ("a", up))))
    assert [d.kind for d in engine.observe(Observation("h2", 44.0, False))] == [Kind.SUSPECT]
    back = engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0)))
    assert [d.kind for d in back] == [Kind.RETURNED, Kind.UNFENCE]
    again = engine.observe(Observation("h2", 48.0, True, _poll("h2", 48.0, ("a", up))))
    want = Kind.FAILBACK if failback == "on" else Kind.ASK_FAILBACK
    assert [(d.kind, d.vm, d.host) for d in again] == [
        (Kind.OK, None, "h2"), (want, "a", "h1")]
    # decided once
    assert engine.observe(Observation("h2", 52.0, True, _poll("h2", 52.0, ("a", up)))) == []


def test_a_vm_shut_off_elsewhere_when_its_host_returns_is_not_failed_back_later() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    _lost_h1_with(engine, "h2")
    engine.fence_done("h1", 36.0)
    engine.restart_ended("a")
    off = PowerState.SHUTOFF
    engine.observe(Observation("h2", 40.0, True, _poll("h2", 40.0, ("a", off))))
    engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0)))
    started = engine.observe(Observation("h2", 50.0, True, _poll("h2", 50.0,
                                                                 ("a", PowerState.RUNNING))))
    assert started == []


def test_a_check_that_began_before_a_restart_never_leaves_the_vm_nowhere() -> None:
    """Seen in CI: h3's check began after "restart f on h3" was decided but before f was
    started, so it did not list f and the engine put f nowhere; h1 returned with its old
    copy of f, which was taken for f (not stale, no failback), and f stayed defined twice."""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    off = PowerState.SHUTOFF
    _lost_h1_with(engine, "h2")
    assert [d.line() for d in engine.fence_done("h1", 36.0)] == ["36.0 restart a on h2"]
    # a check of h2 that began at 37 (before the start) ends after it: no a there yet
    engine.observe(Observation("h2", 39.0, True, _poll("h2", 39.0), started=37.0))
    engine.restart_ended("a", 38.0, "h2")
    back = engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0, ("a", off))))
    assert [(d.kind, d.vm) for d in back] == [
        (Kind.RETURNED, None), (Kind.STALE, "a"), (Kind.UNFENCE, None), (Kind.FAILBACK, "a")]
