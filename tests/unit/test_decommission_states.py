"""The decommission's guards and waits on the states the lab's real Ceph 16 went through
(tests/fixtures/ceph/lab16, made by capture-decom.sh: see the README there): an OSD marked
down (PG statistics still all active+clean with fewer OSDs up than in, then stale PGs), two
down, `ceph osd out` with the data moving, the OSD stopped, and `ceph osd crush remove`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mvm_tui.backends import ceph
from mvm_tui.backends.capabilities import CliResult
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
    """Answers `ceph ...` with the lab's captures: every command of a round of polls from the
    same capture round (e.g. `held-2`: ceph-s.held-2, ceph-osd-df-tree.held-2, ...), as the
    capture script took them. `osd out 2` and each sleep of the wait move on to the next
    round; the last one repeats. `fixed` names the round of a command that never moves on."""

    def __init__(self, *rounds: str, **fixed: str) -> None:
        self.rounds, self.fixed, self.i = list(rounds), fixed, 0
        self.sent: list[str] = []

    def next(self) -> None:
        self.i = min(self.i + 1, len(self.rounds) - 1)

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        words = " ".join(w for w in argv[3:] if w not in ("-f", "json"))
        self.sent.append(words)
        if words == "osd out 2":
            self.next()
            return CliResult(0, "", "marked out osd.2. \n")
        prefix = {"status": "ceph-s", "osd df tree": "ceph-osd-df-tree",
                  "osd safe-to-destroy 2": "ceph-osd-safe-to-destroy",
                  "osd tree": "ceph-osd-df-tree", "pg ls": "ceph-pg-ls",
                  "pg ls-by-osd 2": "ceph-pg-ls-by-osd"}[words]
        # "a|b": the round's captures from a, its `pg ls` from b
        main, _, alt = self.rounds[self.i].partition("|")
        state = self.fixed.get(prefix, alt if alt and prefix == "ceph-pg-ls" else main)
        path = LAB.parent / f"{state[1:]}.json" if state.startswith("/") else \
            LAB / f"{prefix}.{state}.json"  # "/name": a sample of the recipe's run
        return CliResult(0, path.read_text(), "")


class Instant(VirtualClock):
    """Time moves by each sleep at once, and the lab goes on to its next capture round: a
    wait polls the states one after the other."""

    def __init__(self, lab: LabCeph) -> None:
        super().__init__()
        self.lab = lab

    async def sleep(self, seconds: float) -> None:
        self._now += max(seconds, 0.0)
        self.lab.next()


def steps(admin: LabCeph, settle_window: float = 0.0) -> DecommissionSteps:
    async def forget(host: str) -> None: ...

    return DecommissionSteps(admin, Instant(admin), forget, lambda h: True,  # type: ignore[arg-type]
                             interval=1.0, wait_limit=60.0, settle_window=settle_window)


def step(s: DecommissionSteps, title: str) -> Step:
    return next(x for x in s.build(PARAMS) if title in x.title)


# -- the staleness guard


def test_an_osd_just_down_still_shows_every_pg_active_and_clean() -> None:
    s = status("down-1")  # right after `ceph osd down 2`
    assert states(s) == {"active+clean": 33}
    assert (s.num_up_osds, s.num_in_osds) == (2, 3)
    assert not ceph.settled(s)
    assert not ceph.settled(s, tree("down-1"))
    assert ceph.stale_reasons(s) == ["2 of 3 OSDs in are up"]


def test_stale_pgs_are_not_settled() -> None:
    s = status("down-2")  # a second later: the down OSD's PGs are stale+active+clean
    assert states(s) == {"active+clean": 19, "stale+active+clean": 14}
    assert ceph.stale_reasons(s) == ["14 PGs are stale (no report from their OSDs)",
                                     "2 of 3 OSDs in are up"]
    two_down = status("down2-2")  # osd.1 and osd.2 down: still 33 active+clean
    assert states(two_down) == {"active+clean": 33}
    assert not ceph.settled(two_down)
    assert not ceph.settled(status("down2-4"))
    assert not ceph.settled(status("down-5"))


def test_health_ok_right_after_an_out_is_not_healthy() -> None:
    s, t = status("out-01"), tree("out-01")  # the first read after `ceph osd out 2`
    assert s.health == "HEALTH_OK"
    assert states(s) == {"active+clean": 33}
    assert ceph.healthy(s) == (True, "HEALTH_OK")  # the status alone cannot tell...
    ok, why = ceph.healthy(s, t)  # ...osd df tree can: osd.2 is out and holds its PGs
    assert not ok
    assert why == ("HEALTH_OK, but its PG statistics are stale: osd.2 is out but "
                   "still holds 23 PGs")
    assert ceph.healthy(status("out-02"), tree("out-02")) == (True, "HEALTH_OK")
    assert ceph.healthy(status("healthy"), tree("healthy")) == (True, "HEALTH_OK")


async def test_the_health_guard_refuses_stale_statistics() -> None:
    s = steps(LabCeph("out-01"))
    health = s.build(PARAMS)[0]
    with pytest.raises(GuardFailed, match=r"osd\.2 is out but still holds 23 PGs"):
        await health.action(StepContext(1, 0, VirtualClock()))


async def test_the_wait_after_crush_remove_needs_fresh_statistics_too() -> None:
    # every PG active+clean while an OSD that is in is down (down-1): not settled; nor while
    # `ceph status` says 33 active+clean and the PGs' own reports say recovering (held-3)
    lab = LabCeph("down-1", "held-3", "crush-12", **{"ceph-pg-ls": "moving-03"})
    s = steps(lab)
    wait = step(s, "wait for every PG active+clean")
    ctx = StepContext(1, 5, VirtualClock())
    assert not await wait.check(ctx)
    lab.next()
    assert states(status("held-3")) == {"active+clean": 33}
    lab.fixed = {}  # held-3's own `pg ls`
    assert not await wait.check(ctx)
    lab.next()
    lab.fixed = {"ceph-pg-ls": "moving-03"}
    assert await wait.check(ctx)


async def test_after_crush_remove_every_pg_must_stay_clean_for_the_settle_window() -> None:
    # clean (crush-12, its PGs as in moving-03), then PGs recovering again (held-3's `pg ls`),
    # then clean: the wait ends 3 s after the last time it saw them unsettled, not before
    clean = "crush-12|moving-03"
    lab = LabCeph(clean, "held-3", clean, clean, clean, clean, clean, clean)
    s = steps(lab, settle_window=3.0)
    notes: dict[str, object] = {}
    ctx = StepContext(1, 5, VirtualClock(), notes=notes)
    await step(s, "wait for every PG active+clean").action(ctx)
    assert lab.i == 5  # polled rounds 0..5: clean at 2, 3, 4 and 5 (3 s later)
    assert notes["clean.2.since"] is not None


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


def pgs(state: str) -> ceph.PgList:
    return ceph.parse_pg_ls((LAB / f"ceph-pg-ls.{state}.json").read_text())


def verdict(state: str) -> ceph.SafeToDestroy:
    return ceph.parse_safe_to_destroy(
        (LAB / f"ceph-osd-safe-to-destroy.{state}.json").read_text())


WATCHED = {p.pgid for p in ceph.parse_pg_ls(
    (LAB / "ceph-pg-ls-by-osd.moving-before.json").read_text()).pg_stats}
BEFORE = 10  # the osdmap epoch of moving-before-1, read before the out (the flags came after)


@pytest.mark.parametrize(("state", "moved"), [
    ("held-1", False),  # right after the out: osd.2 holds its 23 PGs
    # a second later osd df tree gives osd.2 no PG, safe-to-destroy says safe, `ceph status`
    # says HEALTH_WARN (the flags) but 33 active+clean, nothing degraded: only `pg ls` shows
    # its PGs peering
    ("held-2", False),
    ("held-3", False),  # `ceph status` still 33 active+clean; `pg ls`: recovering, degraded
    ("moving-02", False),  # `pg ls` all active+clean; `ceph status` still recovering
    ("moving-03", True),
])
def test_the_data_has_moved_only_when_every_report_says_so(state: str, moved: bool) -> None:
    assert len(WATCHED) == 23
    s, t = status(state), tree(state)
    if state == "held-2":
        assert verdict(state).is_safe([2])
        assert t.df(2).pgs == 0  # type: ignore[union-attr]
        assert ceph.settled(s, t)
        assert states(s) == {"active+clean": 33}
        assert ceph.data_moved(verdict(state), s, t, 2)  # without the PGs' own reports...
    assert ceph.data_moved(verdict(state), s, t, 2, pgs(state), WATCHED, BEFORE) is moved


def test_unmoved_pgs_names_the_pgs_still_on_the_osd_or_not_reported_since_the_out() -> None:
    assert sorted(ceph.checks.unmoved_pgs(pgs("held-1"), 2, WATCHED, BEFORE)) == sorted(WATCHED)
    # reports older than the epoch read before the out do not count as moved
    old = ceph.checks.unmoved_pgs(pgs("moving-03"), 2, WATCHED, 18)
    assert set(old) <= WATCHED
    assert old  # those last reported at epoch 17 or 18
    assert ceph.checks.unmoved_pgs(pgs("moving-03"), 2, WATCHED, BEFORE) == []


def moving_lab(*rounds: str) -> LabCeph:
    return LabCeph(*rounds, **{"ceph-pg-ls-by-osd": "moving-before"})


async def test_the_wait_ends_when_the_first_read_after_the_out_is_past_the_epoch_bump() -> None:
    # the first read after the out is already at epoch 18, which never changes again; the
    # wait goes through held-1..moving-02 (not moved) and ends at moving-03
    lab = moving_lab("moving-before-1", "held-1", "held-2", "held-3", "moving-02", "moving-03")
    s = steps(lab)
    notes: dict[str, object] = {}
    await step(s, "mark out").action(StepContext(1, 2, VirtualClock(), notes=notes))
    assert notes["out.2"] == {"before": BEFORE, "pgs": 23, "pgids": sorted(WATCHED)}
    assert lab.sent.index("pg ls-by-osd 2") < lab.sent.index("osd out 2")  # kept before
    assert status("moving-02").osdmap_epoch == status("moving-03").osdmap_epoch == 18
    ctx = StepContext(1, 3, VirtualClock(), notes=notes)
    await step(s, "wait for the data to move").action(ctx)
    fractions = [f for f, _ in ctx.progress_seen]
    assert len(fractions) == 5
    assert fractions[-1] == 1.0
    assert max(fractions[:-1]) < 1.0


async def test_a_resumed_wait_goes_on_from_what_the_run_remembered() -> None:
    # a new process (new DecommissionSteps): the PGs to watch, the epoch before the out and
    # the progress come from the run's notes, so the bar does not start again from 0
    notes: dict[str, object] = {"out.2": {"before": BEFORE, "pgs": 23, "pgids": sorted(WATCHED)},
                                "progress.moved.2": 0.5}
    s = steps(moving_lab("held-2", "moving-03"))
    ctx = StepContext(1, 3, VirtualClock(), notes=notes)
    await step(s, "wait for the data to move").action(ctx)
    assert [f for f, _ in ctx.progress_seen] == [0.5, 1.0]  # held-2 alone would say 0
    assert "osd.2 holds 0 PGs (of 23 at the out)" in ctx.progress_seen[0][1]
    assert notes["progress.moved.2"] == 1.0


async def test_the_progress_bar_never_goes_back() -> None:
    # computed alone: 0 (held-1, held-2), some PGs recovered (held-3), then 0 again when
    # `ceph status` catches up with 108 objects degraded or misplaced (moving-02)
    s = steps(moving_lab("held-1", "held-2", "held-3", "moving-02", "moving-03"))
    notes: dict[str, object] = {"out.2": {"before": BEFORE, "pgs": 23, "pgids": sorted(WATCHED)}}
    ctx = StepContext(1, 3, VirtualClock(), notes=notes)
    await step(s, "wait for the data to move").action(ctx)
    shown = [f for f, _ in ctx.progress_seen]
    raw = [ceph.checks.moved_fraction(status(n), pgs(n), 2, WATCHED, BEFORE, 108)
           for n in ("held-3", "moving-02")]
    assert raw[0] > 0
    assert raw[1] == 0.0  # what the bar would have done
    assert shown == sorted(shown)
    assert shown[-1] == 1.0
    assert shown[2] == shown[3] > 0
