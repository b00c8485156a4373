"""Decisions a decommission takes from parsed outputs, with the lab's gotchas built in.

PG statistics lag the osdmap. Captured on the lab's Ceph 16 (tests/fixtures/ceph/lab16):
right after `ceph osd out 2` the status is HEALTH_OK with every PG active+clean while osd.2
still holds its 23 PGs (`out-01`); right after an OSD goes down the status still says every PG
active+clean with fewer OSDs up than in (`down-1`), then some PGs are `stale+active+clean`.
So "healthy" and "settled" here always include the staleness guard (`stale_reasons`).
"""

from __future__ import annotations

from collections.abc import Collection

from mvm_tui.ceph_crush import OsdDfTree
from mvm_tui.ceph_models import MonMap, PgList, SafeToDestroy
from mvm_tui.models import CephStatus
from mvm_tui.units import count, is_are

# State flags a settled PG may carry besides active+clean (background work, data in place).
_HARMLESS = frozenset({"scrubbing", "deep", "snaptrim", "snaptrim_wait", "scrub_scheduled"})


def pg_state_settled(state_name: str) -> bool:
    """active+clean, possibly scrubbing; never remapped, stale, degraded, recovering..."""
    flags = set(state_name.split("+"))
    return {"active", "clean"} <= flags and flags - {"active", "clean"} <= _HARMLESS


def stale_reasons(status: CephStatus, tree: OsdDfTree | None = None) -> list[str]:
    """Why the PG statistics cannot be trusted yet (empty when they can): PGs marked stale,
    fewer OSDs up than in (an OSD just went down: its PGs still count as active+clean), and,
    given `ceph osd df tree`, an OSD that is out but still holds PGs (just marked out: its
    data has not moved, whatever the PG states say)."""
    why = []
    stale = sum(p.count for p in status.pgs_by_state if "stale" in p.state_name.split("+"))
    if stale:
        why.append(f"{count(stale, 'PG')} {is_are(stale)} stale (no report from their OSDs)")
    if status.num_up_osds < status.num_in_osds:
        why.append(f"{status.num_up_osds} of {status.num_in_osds} OSDs in are up")
    if tree is not None:
        for n in tree.nodes:
            if n.type == "osd" and n.reweight == 0 and n.pgs > 0:
                why.append(f"osd.{n.id} is out but still holds {count(n.pgs, 'PG')}")
    return why


def settled(status: CephStatus, tree: OsdDfTree | None = None, pgs: PgList | None = None
            ) -> bool:
    """Every PG active+clean (possibly scrubbing), nothing degraded or misplaced, and the
    statistics fresh (stale_reasons); given `ceph pg ls`, every PG there settled too: the
    PGs' own reports are fresher than `ceph status` (the lab: peering, then recovering, in
    `pg ls` while the status still said 33 active+clean)."""
    counted = sum(p.count for p in status.pgs_by_state)
    return (counted == status.num_pgs
            and all(pg_state_settled(p.state_name) for p in status.pgs_by_state)
            and status.degraded_objects == 0 and status.misplaced_objects == 0
            and not stale_reasons(status, tree)
            and (pgs is None or all(pg_state_settled(p.state) for p in pgs.pg_stats)))


def unmoved_pgs(pgs: PgList, osd: int, watched: Collection[str], since: int) -> list[str]:
    """The PGs that still hold data for `osd` as far as their reports tell: on it (up or
    acting), not settled, or (for the `watched` ones, those it held before its out) not
    reported since the osdmap epoch `since` read before the out, so not re-peered yet."""
    return [p.pgid for p in pgs.pg_stats
            if p.on(osd) or not pg_state_settled(p.state)
            or (p.pgid in watched and p.reported_epoch <= since)]


def healthy(status: CephStatus, tree: OsdDfTree | None = None) -> tuple[bool, str]:
    """HEALTH_OK with fresh statistics, and if not, why (with the health checks)."""
    if status.health != "HEALTH_OK":
        detail = "; ".join(f"{code}: {c.message}" for code, c in status.checks.items())
        return False, f"the cluster is {status.health}" + (f": {detail}" if detail else "")
    why = stale_reasons(status, tree)
    if why:
        return False, "HEALTH_OK, but its PG statistics are stale: " + "; ".join(why)
    return True, "HEALTH_OK"


def data_moved(verdict: SafeToDestroy, status: CephStatus, tree: OsdDfTree, osd: int,
               pgs: PgList | None = None, watched: Collection[str] = (),
               since: int | None = None) -> bool:
    """The data has left an OSD marked out: safe-to-destroy says so, `osd df tree` gives it no
    PG, every PG is settled with fresh statistics, and (given `ceph pg ls`, the PGs it held
    before the out and the osdmap epoch read before it) each of those PGs has re-peered
    and reported since, settled and off the OSD (unmoved_pgs).

    No osdmap epoch later than the out is awaited: on the lab the epoch moved once, within a
    second of the out, and never again (`out-02`..`out-25`), so a first read made after that
    bump would wait forever. What lags: right after the out, the OSD still counts 23 PGs
    (`out-01`); a second later osd df tree and safe-to-destroy say it holds none while the
    PGs are still peering, and `ceph status` says 33 active+clean for seconds more while
    they recover (`held-2`, `held-3` in lab16/): only the PGs' own reports tell."""
    node = tree.df(osd)
    held = node.pgs if node is not None else 0
    fresh = pgs is None or not unmoved_pgs(pgs, osd, watched, -1 if since is None else since)
    return verdict.is_safe([osd]) and held == 0 and settled(status, tree, pgs) and fresh


def moved_fraction(status: CephStatus, pgs: PgList, osd: int, watched: Collection[str],
                   since: int, peak_objects: int) -> float:
    """How far the data has left an OSD (0-1, not yet monotonic): the least of the share of
    its PGs (`watched`, held before the out) that have moved (unmoved_pgs), the share of the
    most objects seen degraded or misplaced (`peak_objects`) no longer so, and the share of
    all PGs settled as they report."""
    unmoved = set(unmoved_pgs(pgs, osd, watched, since))
    pgs_left = len(unmoved & set(watched)) / len(watched) if watched else 0.0
    moving = status.degraded_objects + status.misplaced_objects
    objects_left = moving / peak_objects if peak_objects else 0.0
    total = len(pgs.pg_stats)
    clean = sum(pg_state_settled(p.state) for p in pgs.pg_stats) / total if total else 1.0
    return min(1.0 - max(pgs_left, objects_left), clean)


def mon_removed(monmap: MonMap, name: str) -> bool:
    """Whether `ceph mon remove NAME` took effect: sent while the other monitors are still
    electing it returns 0 and does nothing, so check the monmap (and retry) afterwards."""
    return name not in monmap.names


def monotonic(previous: float | None, fraction: float) -> float:
    """A progress fraction that never goes back: PG counts and degraded + misplaced objects
    rise and fall while Ceph peers and recovers."""
    fraction = min(max(fraction, 0.0), 1.0)
    return fraction if previous is None else max(previous, fraction)
