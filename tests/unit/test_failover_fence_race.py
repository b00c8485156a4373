"""Issue 12: the engine's side of a host that answers while its fence run executes, of a host
taken back only once its restarts are carried out, and of a host that left the cluster."""

from __future__ import annotations

from pathlib import Path

from mvm_tui.backends.sim import demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.core.failover import FailoverEngine, HaSettings, Kind, Observation, Phase
from mvm_tui.models import PowerState
from mvm_tui.runs import RunExecutor, RunStore
from mvm_tui.services.ha_runs import HaRuns
from tests.sim_ha import sim_actions
from tests.unit.test_failover import _poll

UP, OFF = PowerState.RUNNING, PowerState.SHUTOFF


def _lost(engine: FailoverEngine) -> None:
    """h1 runs `a`, h2 is empty; h1 fails its checks until it is lost and a fence is sent."""
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", UP))))
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0)))
    for k in range(1, 8):
        engine.observe(Observation("h1", 5.0 * k, False))
    assert engine.phase("h1") is Phase.FENCING


def test_an_answer_while_the_fence_runs_waits_for_its_outcome() -> None:
    engine = FailoverEngine(HaSettings(failback="off"), ["h1", "h2"])
    _lost(engine)
    engine.fence_running("h1")
    said = engine.observe(Observation("h1", 37.0, True, _poll("h1", 37.0, ("a", UP))))
    assert [d.kind for d in said] == [Kind.ANSWERED]
    assert engine.observe(Observation("h1", 38.0, True, _poll("h1", 38.0, ("a", UP)))) == []
    assert engine.phase("h1") is Phase.FENCING
    assert engine.answered_while_fenced("h1")

    done = engine.fence_done("h1", 40.0, "powered off")
    assert [d.line() for d in done] == [
        "40.0 fenced h1: the fence took effect after it answered (powered off): its VMs are "
        "down, restarted elsewhere",
        "40.0 restart a on h2"]
    # h1 answers again before the restart was carried out: not taken back yet
    assert engine.observe(Observation("h1", 41.0, True, _poll("h1", 41.0, ("a", OFF)))) == []
    assert engine.lost_now("h1")
    engine.restart_ended("a")
    back = engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0, ("a", OFF))))
    assert [(d.kind, d.vm) for d in back] == [
        (Kind.RETURNED, None), (Kind.STALE, "a"), (Kind.UNFENCE, None)]


def test_a_fence_that_did_not_take_effect_gives_the_host_back_with_its_vms() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    _lost(engine)
    engine.fence_running("h1")
    engine.observe(Observation("h1", 37.0, True, _poll("h1", 37.0, ("a", UP))))
    out = engine.fence_failed("h1", 40.0, "timed out")
    assert [d.line() for d in out] == [
        "40.0 fence-failed h1: timed out",
        "40.0 returned h1: the fence did not take effect: its VMs kept running",
        "40.0 unfence h1"]
    assert engine.phase("h1") is Phase.OK
    assert not engine.lost_now("h1")
    assert [(v.name, v.host, v.power) for v in engine.view(41.0).vms] == [("a", "h1", UP)]


def test_without_a_running_fence_an_answer_returns_the_host_at_once() -> None:
    """(the fence was decided but its run had not begun: it is not sent at all)"""
    engine = FailoverEngine(HaSettings(), ["h1", "h2"])
    _lost(engine)
    back = engine.observe(Observation("h1", 37.0, True, _poll("h1", 37.0, ("a", UP))))
    assert [d.kind for d in back] == [Kind.RETURNED, Kind.UNFENCE]
    assert not engine.fencing("h1")


def test_a_host_that_left_is_never_checked_lost_or_a_target() -> None:
    engine = FailoverEngine(HaSettings(), ["h1", "h2", "h3"])
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", UP))))
    # h3, emptier than h2, would be the restart target if it had not left
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0, ("b", UP))))
    engine.observe(Observation("h3", 0.0, True, _poll("h3", 0.0)))
    engine.forget_host("h3")
    assert "h3" not in engine.phases()
    assert engine.observe(Observation("h3", 5.0, False)) == []
    for k in range(1, 8):
        engine.observe(Observation("h1", 5.0 * k, False))
    assert [d.line() for d in engine.fence_done("h1", 40.0)] == ["40.0 restart a on h2"]
    assert "h3" not in {h.name for h in engine.view(40.0).hosts}


async def test_a_fence_run_resumed_after_the_host_answered_fences_nothing(
    tmp_path: Path,
) -> None:
    """(a new process finishing an interrupted fence run, or Retry from History, after the
    host answered again: its guard re-checks right before each step acts)"""
    clock = VirtualClock()
    sim = demo_cluster(clock)
    store = RunStore(tmp_path / "runs.sqlite3")
    lost = {"hv1": False}
    runs = HaRuns(sim, clock, RunExecutor(store, clock), sim_actions(sim),
                  lost_now=lambda host: lost[host])
    running = [v.name for v in (await sim.poll_host("hv1")).vms if v.power is UP]
    assert running
    error = await runs.run("fence", "t", {"host": "hv1", "expiry": 3600, "ipmi": True},
                           runs.targets(host="hv1"))
    assert error == "hv1 is not lost now (it answered since): not fenced"
    assert sim.blocklist() == []
    assert sim.host_powered("hv1")
    assert [v.name for v in (await sim.poll_host("hv1")).vms if v.power is UP] == running
    lost["hv1"] = True  # lost: the same run fences
    assert await runs.run("fence", "t", {"host": "hv1", "expiry": 3600, "ipmi": False},
                          runs.targets(host="hv1")) == ""
    assert sim.blocklist() == ["hv1"]
    store.close()


def test_a_fenced_host_waiting_for_another_fence_is_not_taken_back_and_restarts() -> None:
    """h1 and h2 lost at once: h1's fence is done, h2's runs. h1 answers meanwhile: its VMs
    died with the fence, so it is not taken back before they restart; h2's fence fails: h1's
    VMs restart all the same (a failed fence holds nobody back)."""
    engine = FailoverEngine(HaSettings(failback="off"), ["h1", "h2", "h3"])
    engine.observe(Observation("h1", 0.0, True, _poll("h1", 0.0, ("a", UP))))
    engine.observe(Observation("h2", 0.0, True, _poll("h2", 0.0, ("b", UP))))
    engine.observe(Observation("h3", 0.0, True, _poll("h3", 0.0)))
    for k in range(1, 8):
        engine.observe(Observation("h1", 5.0 * k, False))
        engine.observe(Observation("h2", 5.0 * k, False))
    assert engine.fence_done("h1", 36.0) == []  # waits for h2's fence
    assert engine.observe(Observation("h1", 37.0, True, _poll("h1", 37.0, ("a", OFF)))) == []
    assert engine.phase("h1") is Phase.FENCED
    out = engine.fence_failed("h2", 40.0, "no quorum")
    assert [d.line() for d in out] == ["40.0 fence-failed h2: no quorum", "40.0 restart a on h3"]
    engine.restart_ended("a")
    back = engine.observe(Observation("h1", 45.0, True, _poll("h1", 45.0, ("a", OFF))))
    assert [(d.kind, d.vm) for d in back] == [
        (Kind.RETURNED, None), (Kind.STALE, "a"), (Kind.UNFENCE, None)]
