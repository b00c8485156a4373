"""Maintenance decisions (core/maintenance): evacuation plans, return plans, the migration
schedule. Examples with expected values, and hypothesis properties over random clusters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mvm_tui.core.maintenance import (
    Blocked,
    ColdMove,
    EvacuationPlan,
    LiveMigrate,
    MigrationLimits,
    Move,
    Remedy,
    Stay,
    plan_evacuation,
    plan_return,
    schedule,
    startable,
)
from mvm_tui.core.placement import LIVE, USABLE, HostRoom, Limits, rooms
from mvm_tui.models import (
    ClusterSnapshot,
    Host,
    HostFacts,
    HostMetrics,
    HostState,
    Layout,
    Placement,
    PowerState,
    Vm,
)

T0 = 1_767_225_600.0
LIMITS = Limits(host_reserve_mb=1024, cpu_overcommit=2.0)
A, F, P = Placement.AUTO, Placement.FAILOVER, Placement.PINNED
ON, OFF = PowerState.RUNNING, PowerState.SHUTOFF


def host(name: str, memory_mb: int = 9216, vcpus: int = 8, cpu_pct: float = 10.0,
         state: HostState = HostState.ONLINE) -> Host:
    return Host(
        name=name, address="192.0.2.1", state=state,
        facts=HostFacts(vcpus=vcpus, memory_mb=memory_mb),
        metrics=HostMetrics(time=T0, cpu_pct=cpu_pct, mem_used_mb=0),
    )


def vm(name: str, on: str, memory_mb: int = 1024, vcpus: int = 1, placement: Placement = A,
       power: PowerState = ON, cpu_pct: float = 0.0) -> Vm:
    return Vm(name=name, uuid=name, host=on, power=power, placement=placement,
              vcpus=vcpus, memory_mb=memory_mb, cpu_pct=cpu_pct)


def cluster(hosts: Iterable[Host], vms: Iterable[Vm]) -> ClusterSnapshot:
    return ClusterSnapshot(name="t", layout=Layout.EXTERNAL, time=T0, hosts=tuple(hosts),
                           vms=tuple(vms))


# -- random clusters ---------------------------------------------------------------------------

HOST_STATES = st.sampled_from([HostState.ONLINE, HostState.ONLINE, HostState.SLOW,
                               HostState.MAINTENANCE, HostState.UNREACHABLE, HostState.UNKNOWN])


@st.composite
def clusters(
    draw: st.DrawFn, max_hosts: int = 6, max_vms: int = 24, max_vm_mb: int = 12288
) -> ClusterSnapshot:
    n = draw(st.integers(2, max_hosts))
    hosts = []
    for i in range(n):
        hosts.append(Host(
            name=f"h{i}", address=f"192.0.2.{i}",
            state=HostState.ONLINE if i == 0 else draw(HOST_STATES),
            facts=draw(st.none() | st.builds(
                HostFacts, vcpus=st.integers(2, 16), memory_mb=st.integers(2048, 32768)))
            if i else HostFacts(vcpus=8, memory_mb=16384),
            metrics=HostMetrics(time=T0, cpu_pct=draw(st.floats(0, 100)), mem_used_mb=0),
        ))
    vms = []
    for j in range(draw(st.integers(0, max_vms))):
        vms.append(Vm(
            name=f"vm{j}", uuid=str(j), host=f"h{draw(st.integers(0, n - 1))}",
            power=draw(st.sampled_from([ON, ON, ON, OFF, PowerState.PAUSED,
                                        PowerState.SHUTTING_DOWN, PowerState.CRASHED])),
            placement=draw(st.sampled_from(list(Placement))),
            vcpus=draw(st.integers(1, 8)), memory_mb=draw(st.integers(256, max_vm_mb)),
            cpu_pct=draw(st.floats(0, 100)),
        ))
    return cluster(hosts, vms)


def targets_ok(snap: ClusterSnapshot, source: str) -> set[str]:
    return {h.name for h in snap.hosts
            if h.state in USABLE and h.facts is not None and h.name != source}


def assert_within_capacity(snap: ClusterSnapshot, vms: Sequence[Vm], moves: Sequence[Move],
                           limits: Limits) -> None:
    """Every host a move lands on stays within its room, counting the VMs moved there."""
    room: dict[str, HostRoom] = rooms(snap, limits)
    by_name = {v.name: v for v in vms}
    for m in moves:
        room[m.target] = room[m.target].taking(by_name[m.vm])
    for name in {m.target for m in moves}:
        r = room[name]
        assert r.memory_used_mb <= r.memory_mb, r
        assert r.vcpus_used <= r.vcpus, r


# -- evacuation: examples ----------------------------------------------------------------------

def test_running_vms_spread_biggest_first_and_the_pinned_one_blocks() -> None:
    snap = cluster(
        [host("h1"), host("h2", memory_mb=5120), host("h3")],
        [vm("big", "h1", 6144, 2), vm("small", "h1", 1024), vm("db", "h1", 2048, placement=F),
         vm("lic", "h1", 512, placement=P), vm("old", "h1", 1024, power=OFF),
         vm("other", "h2", 2048)],
    )
    plan = plan_evacuation(snap, "h1", LIMITS)
    got = {a.vm.name: (type(a).__name__, getattr(a, "target", None)) for a in plan.actions}
    # biggest first: only h3 (8192 MB for VMs) can take "big"; db then fills h2 exactly
    # (2048 + 2048 of 4096: as full as h3 would be, h2 first by name); small goes to h3,
    # and the powered-off one where it could start: h3
    assert got == {
        "big": ("LiveMigrate", "h3"),
        "db": ("LiveMigrate", "h2"),
        "small": ("LiveMigrate", "h3"),
        "lic": ("Blocked", None),
        "old": ("ColdMove", "h3"),
    }
    assert [a.vm.name for a in plan.actions] == ["big", "small", "db", "lic", "old"]
    (blocked,) = plan.blocked
    assert blocked.reason == "pinned to h1"
    assert blocked.remedies == (Remedy.OPEN_PLACEMENT, Remedy.POWER_OFF)
    assert not plan.can_enter


def test_no_room_blocks_with_the_reason_from_assign() -> None:
    snap = cluster([host("h1"), host("h2", memory_mb=3072)], [vm("big", "h1", 4096)])
    plan = plan_evacuation(snap, "h1", LIMITS)
    (blocked,) = plan.blocked
    assert blocked.reason.startswith("no host has room for 4096 MB and 1 vCPU")
    assert "2048 MB" in blocked.reason
    assert blocked.remedies[0] is Remedy.POWER_OFF


def test_pinned_off_vm_stays_and_entry_is_allowed() -> None:
    snap = cluster([host("h1"), host("h2")], [vm("lic", "h1", placement=P, power=OFF),
                                              vm("web", "h1")])
    plan = plan_evacuation(snap, "h1", LIMITS)
    assert plan.can_enter
    assert [(type(a), a.vm.name) for a in plan.actions] == [(Stay, "lic"), (LiveMigrate, "web")]
    assert plan.moves == (Move("web", "h1", "h2", live=True),)


@pytest.mark.parametrize("power", [PowerState.PAUSED, PowerState.SHUTTING_DOWN])
def test_paused_or_stopping_vm_blocks(power: PowerState) -> None:
    snap = cluster([host("h1"), host("h2")], [vm("x", "h1", power=power)])
    plan = plan_evacuation(snap, "h1", LIMITS)
    assert [b.remedies for b in plan.blocked] == [(Remedy.POWER_OFF,)]


def test_unreachable_host_is_refused_and_unknown_host_raises() -> None:
    snap = cluster([host("h1", state=HostState.UNREACHABLE), host("h2")], [])
    assert plan_evacuation(snap, "h1", LIMITS).refusal == (
        "h1 is unreachable: its VMs cannot be moved now")
    with pytest.raises(ValueError, match="no host named 'h9'"):
        plan_evacuation(snap, "h9", LIMITS)


def test_empty_host_can_enter() -> None:
    plan = plan_evacuation(cluster([host("h1"), host("h2")], []), "h1", LIMITS)
    assert plan == EvacuationPlan("h1", ())
    assert plan.can_enter


# -- return: examples --------------------------------------------------------------------------

def test_return_only_what_fits_and_what_is_not_pinned() -> None:
    snap = cluster(
        [host("h1", memory_mb=5120, state=HostState.MAINTENANCE), host("h2")],
        [vm("a", "h2", 3072), vm("b", "h2", 2048), vm("c", "h2", placement=P),
         vm("d", "h2", 1024, power=OFF), vm("stayed", "h1", 1024, power=OFF)],
    )
    back = plan_return(snap, "h1", ["a", "b", "c", "d", "gone", "stayed"], LIMITS)
    assert [(type(m), m.vm.name) for m in back.moves] == [(LiveMigrate, "a"), (ColdMove, "d")]
    assert {s.vm.name: s.reason for s in back.stays}["c"] == "pinned to h2 now"
    assert {s.vm.name for s in back.stays} == {"b", "c"}
    assert back.missing == ("gone",)


def test_return_to_an_unreachable_host_brings_nothing_back() -> None:
    snap = cluster([host("h1", state=HostState.UNREACHABLE), host("h2")], [vm("a", "h2")])
    back = plan_return(snap, "h1", ["a"], LIMITS)
    assert back.moves == ()
    assert back.stays[0].reason.startswith("h1 is unreachable")


# -- schedule: examples ------------------------------------------------------------------------

def test_schedule_in_waves_per_host_limit_counts_the_source() -> None:
    moves = [Move(n, "h1", t) for n, t in (("a", "h2"), ("b", "h3"), ("c", "h4"))]
    assert schedule(moves, MigrationLimits(max_total=4, max_per_host=2)) == [
        moves[:2], moves[2:]]
    assert schedule(moves, MigrationLimits(max_total=4, max_per_host=1)) == [
        [m] for m in moves]
    assert schedule(moves, MigrationLimits(max_total=4, max_per_host=3)) == [moves]


def test_startable_skips_busy_hosts_and_keeps_order() -> None:
    running = [Move("x", "h1", "h2")]
    pending = [Move("a", "h1", "h3"), Move("b", "h4", "h5"), Move("c", "h6", "h7")]
    assert startable(pending, running, MigrationLimits(max_total=2, max_per_host=1)) == [
        pending[1]]
    assert startable(pending, running, MigrationLimits(max_total=9, max_per_host=2)) == pending


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="migration limits must be at least 1"):
        MigrationLimits(max_total=0)


# -- properties --------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(clusters(), st.data())
def test_evacuation_properties(snap: ClusterSnapshot, data: st.DataObject) -> None:
    source = data.draw(st.sampled_from([h.name for h in snap.hosts]))
    plan = plan_evacuation(snap, source, LIMITS)
    on_host = [v for v in snap.vms if v.host == source]
    # every VM of the host has exactly one action
    assert sorted(a.vm.name for a in plan.actions) == sorted(v.name for v in on_host)
    ok = targets_ok(snap, source)
    for a in plan.actions:
        if isinstance(a, LiveMigrate | ColdMove):
            assert a.vm.placement is not Placement.PINNED  # a pinned VM is never moved
            assert a.target in ok  # never itself, nor unusable or maintenance hosts
        if isinstance(a, LiveMigrate):
            assert a.vm.power is PowerState.RUNNING
        if isinstance(a, Stay):
            assert a.vm.power not in LIVE
        if isinstance(a, Blocked):
            assert a.vm.power in LIVE
            assert a.remedies
    # a live VM either leaves or blocks; entry is refused while anything blocks
    leaving_or_blocking = {a.vm.name for a in plan.live} | {a.vm.name for a in plan.blocked}
    for v in on_host:
        if v.power in LIVE:
            assert v.name in leaving_or_blocking
    assert plan.can_enter == (not plan.blocked and plan.refusal is None)
    if any(v.power in LIVE and v.placement is Placement.PINNED for v in on_host):
        assert not plan.can_enter
    # no target filled beyond capacity: the live ones, then the cold ones as if started
    assert_within_capacity(snap, on_host, [a.move for a in plan.live], LIMITS)
    assert_within_capacity(snap, on_host, list(plan.moves), LIMITS)


@settings(max_examples=200, deadline=None)
@given(clusters(), st.data())
def test_return_properties(snap: ClusterSnapshot, data: st.DataObject) -> None:
    dest = data.draw(st.sampled_from([h.name for h in snap.hosts]))
    names = data.draw(st.lists(st.sampled_from([v.name for v in snap.vms] + ["ghost"])))
    back = plan_return(snap, dest, names, LIMITS)
    assert {m.vm.name for m in back.moves} <= set(names)
    assert not {m.vm.name for m in back.moves} & {s.vm.name for s in back.stays}
    for m in back.moves:
        assert m.target == dest
        assert m.vm.host != dest
        assert m.vm.placement is not Placement.PINNED
    room = rooms(snap.model_copy(update={"hosts": tuple(
        h.model_copy(update={"state": HostState.ONLINE}) if h.name == dest and
        h.state is HostState.MAINTENANCE else h for h in snap.hosts)}), LIMITS).get(dest)
    if back.moves:
        assert room is not None
        for m in back.moves:
            room = room.taking(m.vm)
        assert room.memory_used_mb <= room.memory_mb
        assert room.vcpus_used <= room.vcpus


moves_st = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5)).filter(lambda t: t[0] != t[1]).map(
        lambda t: (f"h{t[0]}", f"h{t[1]}")),
    max_size=30,
).map(lambda pairs: [Move(f"vm{i}", s, t) for i, (s, t) in enumerate(pairs)])
limits_st = st.builds(MigrationLimits, max_total=st.integers(1, 6),
                      max_per_host=st.integers(1, 4))


def assert_within(moves: Sequence[Move], limits: MigrationLimits) -> None:
    assert len(moves) <= limits.max_total
    per_host = Counter(h for m in moves for h in (m.source, m.target))
    assert all(n <= limits.max_per_host for n in per_host.values())


@settings(max_examples=300, deadline=None)
@given(moves_st, limits_st)
def test_schedule_never_exceeds_the_limits_and_keeps_every_move(
    moves: list[Move], limits: MigrationLimits
) -> None:
    waves = schedule(moves, limits)
    assert sorted(m.vm for w in waves for m in w) == sorted(m.vm for m in moves)
    for wave in waves:
        assert wave
        assert_within(wave, limits)


@settings(max_examples=300, deadline=None)
@given(moves_st, limits_st, st.data())
def test_startable_never_exceeds_the_limits_beside_the_running(
    moves: list[Move], limits: MigrationLimits, data: st.DataObject
) -> None:
    running: list[Move] = []
    for m in moves:  # a running set that is itself within the limits
        if startable([m], running, limits):
            running.append(m)
    running = data.draw(st.sampled_from([running, running[: len(running) // 2], []]))
    pending = [m for m in moves if m not in running]
    now = startable(pending, running, limits)
    assert_within([*running, *now], limits)
    if not running and pending:
        assert now  # with nothing in flight, something can always start
