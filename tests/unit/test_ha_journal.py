"""The HA journal (core.ha_journal): per-VM HA state, incident timelines and notices."""

from __future__ import annotations

from mvm_tui.core.failover_plan import Decision, Kind
from mvm_tui.core.ha_journal import HaJournal, VmHa
from mvm_tui.models import Placement, PowerState, Vm


def _vm(name: str, placement: Placement = Placement.AUTO) -> Vm:
    return Vm(name=name, uuid=name, host="h1", vcpus=1, memory_mb=1024, placement=placement,
              power=PowerState.RUNNING)


def test_a_suspicion_that_passes_is_no_incident() -> None:
    j = HaJournal()
    j.decided(Decision(5.0, Kind.SUSPECT, "h1"))
    j.decided(Decision(10.0, Kind.OK, "h1", reason="answered again"))
    assert j.incidents() == []
    assert j.vm_states() == {}


def test_a_failed_fence_leaves_the_vms_down_and_says_so_loudly() -> None:
    j = HaJournal()
    j.decided(Decision(5.0, Kind.SUSPECT, "h1"))
    j.decided(Decision(35.0, Kind.LOST, "h1"), [_vm("a"), _vm("p", Placement.PINNED)])
    assert {v: s.state for v, s in j.vm_states().items()} == {
        "a": VmHa.RECOVERING, "p": VmHa.BY_POLICY}
    notices = j.decided(Decision(36.0, Kind.FENCE_FAILED, "h1", reason="no quorum"))
    assert [(n.level, n.event) for n in notices] == [("error", "fence-failed")]
    assert j.vm_states()["a"].state is VmHa.NOT_FENCED
    assert j.vm_states()["a"].reason == "no quorum"
    # fenced at the next try: recovering again, restarted, up: down since the first failure
    assert [n.event for n in j.fenced("h1", 66.0, "fenced")] == ["fenced"]
    assert j.vm_states()["a"].state is VmHa.RECOVERING
    j.decided(Decision(66.0, Kind.RESTART, "h1", vm="a", target="h2"))
    j.restarted("a", "h1", 70.0, "h2")
    assert set(j.vm_states()) == {"p"}
    (inc,) = j.incidents()
    assert inc.downtime == {"a": 65.0}
    assert inc.end is None
    assert inc.lines()[-1] == "+65 s  a runs on h2: down 65 s"


def test_a_vm_left_down_for_want_of_room_is_down_until_seen_running() -> None:
    j = HaJournal()
    j.decided(Decision(5.0, Kind.SUSPECT, "h1"))
    j.decided(Decision(35.0, Kind.LOST, "h1"), [_vm("big")])
    (notice,) = j.decided(Decision(36.0, Kind.STAY_DOWN, "h1", vm="big", reason="no room",
                                   detail="needs 8192 MB, at most 4096 MB free"))
    assert notice.level == "error"
    assert notice.vm == "big"
    assert j.vm_states()["big"].state is VmHa.NO_ROOM
    j.decided(Decision(60.0, Kind.RETURNED, "h1"))
    assert j.incidents()[0].end is None  # back, but big is still down
    j.seen_running("big", "h1", 70.0)
    (inc,) = j.incidents()
    assert j.vm_states() == {}
    assert inc.end == 70.0
    assert inc.downtime == {"big": 65.0}


def test_vms_killed_by_an_active_self_fence_are_down_until_restarted_there() -> None:
    j = HaJournal()  # (h1 never failed a check: its peers, not the jump box, were cut off)
    (notice,) = j.decided(Decision(10.0, Kind.STAY_DOWN, "h1", vm="a", reason="self-fenced",
                                   detail="killed by the self-fence of h1"))
    assert (notice.level, notice.event, notice.vm) == ("error", "left-down", "a")
    assert j.vm_states()["a"].state is VmHa.SELF_FENCED
    assert j.vm_states()["a"].line() == "a down: self-fenced (killed by the self-fence of h1)"
    j.decided(Decision(25.0, Kind.SELF_FENCED, "h1", target="h1", reason="a"))
    j.decided(Decision(25.0, Kind.RESTART, "h1", vm="a", target="h1"))
    j.restarted("a", "h1", 26.0, "h1")
    assert j.vm_states() == {}
    (inc,) = j.incidents()
    assert inc.downtime == {"a": 16.0}
