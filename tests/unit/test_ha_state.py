"""HA's kept state: next to the RADOS lock (against the RADOS model of fake_rados), and what a
new engine learns from it."""

from __future__ import annotations

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.clock import VirtualClock
from mvm_tui.core.failover import FailoverEngine, HaSettings, Kind, Observation, Phase
from mvm_tui.core.failover_memory import export, seed
from mvm_tui.models import HostFacts, HostMetrics, HostPoll, Placement, PowerState, Vm
from mvm_tui.services.ha_state_rados import RadosHaState
from tests.scenarios.fake_rados import FakeRados

S = HaSettings(check_interval=5, check_timeout=4, grace_period=30)


def poll(host: str, *vms: tuple[str, PowerState]) -> HostPoll:
    return HostPoll(facts=HostFacts(vcpus=8, memory_mb=16384),
                    metrics=HostMetrics(time=0.0, cpu_pct=0.0, mem_used_mb=0),
                    vms=tuple(Vm(name=n, uuid="", host=host, power=p, vcpus=1, memory_mb=2048,
                                 placement=Placement.AUTO) for n, p in vms))


def lost_and_fenced() -> FailoverEngine:
    e = FailoverEngine(S, ["h1", "h2"])
    e.observe(Observation("h1", 0.0, True, poll("h1", ("web-01", PowerState.RUNNING))))
    e.observe(Observation("h2", 0.0, True, poll("h2")))
    for t in range(5, 45, 5):
        e.observe(Observation("h1", float(t), False))
    assert e.phase("h1") is Phase.FENCING
    return e


async def test_the_state_round_trips_through_rados_and_only_changes_are_written() -> None:
    rados = FakeRados(VirtualClock())
    store = RadosHaState(rados, "demo", "vms")
    assert await store.load() is None
    state = export(lost_and_fenced())
    state["definitions"] = {"web-01": {"host": "h1", "taken": 0.0, "xml": "<domain/>"}}
    await store.save(state)
    assert sorted(rados.xattrs) == ["ha", "vm.web-01"]
    assert [c[4:8] for c in rados.commands[-2:]] == [  # the VMs first, then the rest
        ["vms", "setxattr", "mvm-tui-ha.demo", "vm.web-01"],
        ["vms", "setxattr", "mvm-tui-ha.demo", "ha"]]
    writes = len(rados.commands)
    await store.save(state)
    assert len(rados.commands) == writes  # nothing changed: nothing written
    again = await RadosHaState(rados, "demo", "vms").load()
    assert again == state
    await store.save({**state, "vms": {}, "definitions": {}})
    assert sorted(rados.xattrs) == ["ha"]


async def test_a_full_cluster_is_an_error_not_silence() -> None:
    rados = FakeRados(VirtualClock())
    rados.full = True
    with pytest.raises(BackendError, match="No space left"):
        await RadosHaState(rados, "demo", "vms").save(export(lost_and_fenced()))


def test_a_new_engine_restarts_what_the_last_one_knew_and_unfences_on_return() -> None:
    old = lost_and_fenced()
    assert old.fence_done("h1", 45.0)[0].kind is Kind.RESTART
    kept = export(old)
    # a new engine that never saw h1 answer: h1 returns at once
    new = FailoverEngine(S, ["h1", "h2"])
    seed(new, kept)
    out = new.observe(Observation("h1", 50.0, True, poll("h1", ("web-01", PowerState.SHUTOFF))))
    assert [d.kind for d in out][:2] == [Kind.RETURNED, Kind.UNFENCE]
    # another new engine: h1 stays silent; web-01 (last seen running on h1) is restarted
    other = FailoverEngine(S, ["h1", "h2"])
    seed(other, {**kept, "fenced": {}})
    other.observe(Observation("h2", 50.0, True, poll("h2")))
    for t in range(55, 95, 5):
        other.observe(Observation("h1", float(t), False))
    restarts = other.fence_done("h1", 95.0)
    assert [(d.kind, d.vm, d.target) for d in restarts] == [(Kind.RESTART, "web-01", "h2")]


def test_a_host_that_answers_while_being_fenced_is_unfenced() -> None:
    e = lost_and_fenced()
    out = e.observe(Observation("h1", 46.0, True, poll("h1", ("web-01", PowerState.RUNNING))))
    assert [d.kind for d in out] == [Kind.RETURNED, Kind.UNFENCE]
    assert not e.fencing("h1")  # the fence still queued is not carried out
    assert e.fence_done("h1", 47.0) == []


@pytest.mark.parametrize("dest_first", [True, False])
def test_a_vm_migrated_just_before_its_new_host_is_lost_is_restarted(dest_first: bool) -> None:
    """db-01 moved h1 -> h2 at t=7; h2's last answer (a check sent at 5) did not show it, h1's
    check sent at 10 no longer does; whichever result arrives first, once h2 is lost and
    fenced db-01 is restarted (not believed nowhere)."""
    e = FailoverEngine(S, ["h1", "h2", "h3"])
    for h in ("h1", "h2", "h3"):
        vms = (("db-01", PowerState.RUNNING),) if h == "h1" else ()
        e.observe(Observation(h, 0.0, True, poll(h, *vms), started=0.0))
    dest = Observation("h2", 9.5, True, poll("h2"), started=5.0)  # slow: answers late
    source = Observation("h1", 10.0, True, poll("h1"), started=10.0)
    for obs in ((dest, source) if dest_first else (source, dest)):
        e.observe(obs)
    e.observe(Observation("h3", 10.0, True, poll("h3"), started=10.0))
    for t in range(15, 55, 5):
        e.observe(Observation("h2", float(t), False))
    assert e.phase("h2") is Phase.FENCING
    out = e.fence_done("h2", 55.0)
    assert [(d.kind, d.vm, d.host) for d in out] == [(Kind.RESTART, "db-01", "h2")]
