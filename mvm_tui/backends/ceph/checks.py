"""Decisions a decommission takes from parsed outputs, with the lab's gotchas built in."""

from __future__ import annotations

from mvm_tui.backends.ceph.models import MonMap, SafeToDestroy
from mvm_tui.models import CephStatus

# State flags a settled PG may carry besides active+clean (background work, data in place).
_HARMLESS = frozenset({"scrubbing", "deep", "snaptrim", "snaptrim_wait", "scrub_scheduled"})


def pg_state_settled(state_name: str) -> bool:
    """active+clean, possibly scrubbing; never remapped, stale, degraded, recovering..."""
    flags = set(state_name.split("+"))
    return {"active", "clean"} <= flags and flags - {"active", "clean"} <= _HARMLESS


def rebalance_settled(status: CephStatus, out_epoch: int) -> bool:
    """True once the data has moved off OSDs marked out at osdmap epoch `out_epoch` (the epoch
    read right after `ceph osd out`).

    PG statistics lag the osdmap: for a few seconds after `osd out`, `ceph status` still reports
    every PG active+clean and HEALTH_OK at that same epoch. Rebalancing advances the epoch
    (pg_temp set, then cleared), so only a status from a later epoch with every PG settled and
    nothing degraded or misplaced counts. If the out moved no data the epoch may never advance:
    callers bound their wait.
    """
    counted = sum(p.count for p in status.pgs_by_state)
    return (
        status.osdmap_epoch > out_epoch
        and counted == status.num_pgs
        and all(pg_state_settled(p.state_name) for p in status.pgs_by_state)
        and status.degraded_objects == 0
        and status.misplaced_objects == 0
    )


def safe_to_remove(
    verdict: SafeToDestroy, status: CephStatus, osd_ids: list[int], out_epoch: int
) -> bool:
    """Both Ceph's safe-to-destroy verdict and a settled rebalance: safe-to-destroy once said
    "safe" while PGs were still recovering right after the out."""
    return verdict.is_safe(osd_ids) and rebalance_settled(status, out_epoch)


def mon_removed(monmap: MonMap, name: str) -> bool:
    """Whether `ceph mon remove NAME` took effect: sent while the other monitors are still
    electing it returns 0 and does nothing, so check the monmap (and retry) afterwards."""
    return name not in monmap.names
