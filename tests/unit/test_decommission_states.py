"""The decommission's guards and waits on the states the lab's real Ceph 16 went through
(tests/fixtures/ceph/lab16, made by capture-decom.sh: see the README there): an OSD marked
down (PG statistics still all active+clean with fewer OSDs up than in, then stale PGs), two
down, `ceph osd out` with the data moving, the OSD stopped, and `ceph osd crush remove`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mvm_tui.backends import ceph
from mvm_tui.backends.ceph.admin import CliResult
from mvm_tui.clock import VirtualClock
from mvm_tui.models import CephStatus
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.decommission import DecommissionSteps, GuardFailed

LAB = Path(__file__).parent.parent / "fixtures" / "ceph" / "lab16"
PARAMS = {"host": "h3", "bucket": "mvmlab-h3", "address": "10.213.0.13", "osds": [2],
          "mon": None, "others": ["h1", "h2"]}


def status(state: str) -> CephStatus:
    return ceph.parse_status((LAB / f"ceph-s.{state}.json").read_text())


def tree(state: str) -> ceph.OsdDfTree:
    return ceph.parse_osd_df_tree((LAB / f"ceph-osd-df-tree.{state}.json").read_text())


def states(s: CephStatus) -> dict[str, int]:
    return {p.state_name: p.count for p in s.pgs_by_state}


class LabCeph:
    """Answers `ceph ...` with the lab's captures, in the order they were taken: each read
    moves on to the next state given for that command, the last one repeats."""

    def __init__(self, **states: Sequence[str]) -> None:
        self.states = {k: list(v) for k, v in states.items()}  # "status" -> ["out-01", ...]
        self.sent: list[str] = []

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        words = " ".join(w for w in argv[3:] if w not in ("-f", "json"))
        self.sent.append(words)
        if words == "osd out 2":
            return CliResult(0, "", "marked out osd.2. \n")
        prefix = {"status": "ceph-s", "osd df tree": "ceph-osd-df-tree",
                  "osd safe-to-destroy 2": "ceph-osd-safe-to-destroy",
                  "osd tree": "ceph-osd-df-tree"}[words]
        queue = self.states["osd df tree" if words == "osd tree" else words.split(" 2")[0]]
        state = queue.pop(0) if len(queue) > 1 else queue[0]
        path = LAB.parent / f"{state[1:]}.json" if state.startswith("/") else \
            LAB / f"{prefix}.{state}.json"  # "/name": a sample of the recipe's run
        return CliResult(0, path.read_text(), "")


class Instant(VirtualClock):
    """Time moves by each sleep at once: a wait polls its next state without waiting."""

    async def sleep(self, seconds: float) -> None:
        self._now += max(seconds, 0.0)


def steps(admin: LabCeph) -> DecommissionSteps:
    async def forget(host: str) -> None: ...

    return DecommissionSteps(admin, Instant(), forget, lambda h: True,  # type: ignore[arg-type]
                             interval=1.0, wait_limit=60.0)


def step(s: DecommissionSteps, title: str) -> Step:
    return next(x for x in s.build(PARAMS) if title in x.title)


# -- the staleness guard


def test_an_osd_just_down_still_shows_every_pg_active_and_clean() -> None:
    s = status("down-1")  # right after `ceph osd down 2`
    assert states(s) == {"active+clean": 33} and (s.num_up_osds, s.num_in_osds) == (2, 3)
    assert not ceph.settled(s) and not ceph.settled(s, tree("down-1"))
    assert ceph.stale_reasons(s) == ["2 of 3 OSDs in are up"]


def test_stale_pgs_are_not_settled() -> None:
    s = status("down-2")  # a second later: the down OSD's PGs are stale+active+clean
    assert states(s) == {"active+clean": 19, "stale+active+clean": 14}
    assert ceph.stale_reasons(s) == ["14 PGs are stale (no report from their OSDs)",
                                     "2 of 3 OSDs in are up"]
    two_down = status("down2-2")  # osd.1 and osd.2 down: still 33 active+clean
    assert states(two_down) == {"active+clean": 33} and not ceph.settled(two_down)
    assert not ceph.settled(status("down2-4")) and not ceph.settled(status("down-5"))


def test_health_ok_right_after_an_out_is_not_healthy() -> None:
    s, t = status("out-01"), tree("out-01")  # the first read after `ceph osd out 2`
    assert s.health == "HEALTH_OK" and states(s) == {"active+clean": 33}
    assert ceph.healthy(s) == (True, "HEALTH_OK")  # the status alone cannot tell...
    ok, why = ceph.healthy(s, t)  # ...osd df tree can: osd.2 is out and holds its PGs
    assert not ok and why == ("HEALTH_OK, but its PG statistics are stale: osd.2 is out but "
                              "still holds 23 PGs")
    assert ceph.healthy(status("out-02"), tree("out-02")) == (True, "HEALTH_OK")
    assert ceph.healthy(status("healthy"), tree("healthy")) == (True, "HEALTH_OK")


async def test_the_health_guard_refuses_stale_statistics() -> None:
    s = steps(LabCeph(status=["out-01"], **{"osd df tree": ["out-01"]}))
    health = s.build(PARAMS)[0]
    with pytest.raises(GuardFailed, match=r"osd\.2 is out but still holds 23 PGs"):
        await health.action(StepContext(1, 0, VirtualClock()))


async def test_the_wait_after_crush_remove_needs_fresh_statistics_too() -> None:
    # every PG active+clean while an OSD that is in is down (down-1): not settled
    s = steps(LabCeph(status=["down-1", "crush-01", "crush-12"],
                      **{"osd df tree": ["down-1", "crush-01", "crush-12"]}))
    wait = step(s, "wait for every PG active+clean")
    ctx = StepContext(1, 5, VirtualClock())
    assert not await wait.check(ctx)
    assert await wait.check(ctx)


# -- the wait for the data to leave an OSD


def test_the_epoch_moved_once_right_after_the_out_and_never_again() -> None:
    epochs = [ceph.parse_osd_dump((LAB / f"ceph-osd-dump.{n}.json").read_text()).epoch
              for n in ("out-01", "out-02", "out-25")]
    assert epochs == [35, 36, 36]  # a first read at 36 would wait forever for a later one
    assert [status(n).osdmap_epoch for n in ("out-01", "out-02", "out-25")] == epochs


@pytest.mark.parametrize(("state", "moved"), [
    ("out-01", False),  # osd.2 still holds 23 PGs, safe-to-destroy says active
    ("out-02", True),  # osd.2 holds none, safe to destroy, every PG active+clean
    ("out-25", True),  # ten seconds later, at the same epoch
    ("down-1", False),
])
def test_data_moved_on_the_captured_states(state: str, moved: bool) -> None:
    verdict_state = state if state.startswith("out") else "out-01"
    verdict = ceph.parse_safe_to_destroy(
        (LAB / f"ceph-osd-safe-to-destroy.{verdict_state}.json").read_text())
    assert ceph.data_moved(verdict, status(state), tree(state), 2) is moved


async def test_the_wait_ends_when_the_first_read_after_the_out_is_past_the_epoch_bump() -> None:
    # the out's own read saw epoch 36 already: the epoch never changes again afterwards
    lab = LabCeph(status=["healthy", "out-02", "out-02", "out-25"],
                  **{"osd df tree": ["healthy", "healthy", "out-02", "out-25"],
                     "osd safe-to-destroy": ["out-02", "out-25"]})
    s = steps(lab)
    notes: dict[str, object] = {}
    mark_out, wait = step(s, "mark out"), step(s, "wait for the data to move")
    await mark_out.action(StepContext(1, 2, VirtualClock(), notes=notes))
    assert notes["out.2"] == {"epoch": 36, "pgs": 23}
    ctx = StepContext(1, 3, VirtualClock(), notes=notes)
    await wait.action(ctx)
    assert [f for f, _ in ctx.progress_seen] == [1.0]
    assert "osd out 2" in lab.sent


async def test_a_resumed_wait_goes_on_from_what_the_run_remembered() -> None:
    # a new process (new DecommissionSteps): the PGs at the out and the progress come from the
    # run's notes, so the bar does not start again from 0
    notes: dict[str, object] = {"out.2": {"epoch": 35, "pgs": 23}, "progress.moved.2": 0.5}
    s = steps(LabCeph(status=["out-01", "out-02"], **{"osd df tree": ["out-01", "out-02"],
                                                      "osd safe-to-destroy": ["out-01",
                                                                              "out-02"]}))
    ctx = StepContext(1, 3, VirtualClock(), notes=notes)
    await step(s, "wait for the data to move").action(ctx)
    fractions = [f for f, _ in ctx.progress_seen]
    assert fractions == [0.5, 1.0]  # out-01 alone would say 0: the bar never goes back
    assert "osd.2 holds 23 PGs (of 23 at the out)" in ctx.progress_seen[0][1]
    assert notes["progress.moved.2"] == 1.0


async def test_the_progress_bar_never_goes_back() -> None:
    # objects to move rise (51 degraded + misplaced) and fall (17), PGs active+clean rise and
    # fall (21, 12, 19, 21 of 33): computed alone the bar would go 0, .36, .58, 0, 1
    s = steps(LabCeph(status=["/ceph-s.rebalancing-warn", "/ceph-s.rebalancing", "down-2",
                              "/ceph-s.rebalancing-warn", "out-02"],
                      **{"osd df tree": ["out-02"], "osd safe-to-destroy": ["out-02"]}))
    notes: dict[str, object] = {"out.2": {"epoch": 35, "pgs": 23}}
    ctx = StepContext(1, 3, VirtualClock(), notes=notes)
    await step(s, "wait for the data to move").action(ctx)
    assert [round(f, 3) for f, _ in ctx.progress_seen] == [0.0, 0.364, 0.576, 0.576, 1.0]
