"""The pre-flight verdicts of the simulated Ceph, `ceph osd ok-to-stop` and `ceph osd
safe-to-destroy`, decided as Ceph 16's mgr does (src/mgr/DaemonServer.cc) from the PG
statistics, which lag the osdmap: right after `osd out`, the OSD still counts as holding PGs.
"""

from __future__ import annotations

from typing import Any

from mvm_tui.backends.sim.ceph import CephModel

POOL_ID = 1


def pgid(p: int) -> str:
    return f"{POOL_ID}.{p:x}"


def ok_to_stop_report(
    m: CephModel, min_size: int, ids: list[int], now: float
) -> dict[str, Any]:
    """`ceph osd ok-to-stop IDS -f json` (DaemonServer::_check_offlines_pgs)."""
    m.settle(now)
    pgs, wanted = m.pgs, set(ids)
    ok: list[int] = []
    inactive: list[str] = []
    become_inactive: list[str] = []
    degraded: list[str] = []
    more_degraded: list[str] = []
    for p in range(len(pgs.pgs)):
        v = pgs.view(p)
        acting = pgs.sets(p)[1]
        if v.degraded:  # only complete copies count (avail_no_missing)
            holders = set(pgs.holders(p))
            acting = tuple(o for o in acting if o in holders)
        if not wanted & set(acting):
            continue
        left = [o for o in acting if o not in wanted]
        bad = False
        if not v.active:
            inactive.append(pgid(p))
            bad = True
        if len(left) < min_size:
            become_inactive.append(pgid(p))
            bad = True
        if not bad:
            ok.append(p)
            (more_degraded if v.degraded else degraded).append(pgid(p))
    not_ok = sorted({*inactive, *become_inactive})
    out: dict[str, Any] = {"ok_to_stop": not not_ok, "osds": sorted(wanted),
                           "num_ok_pgs": len(ok), "num_not_ok_pgs": len(not_ok)}
    for key, values in (("bad_already_inactive", inactive),
                        ("bad_become_inactive", become_inactive),
                        ("ok_become_degraded", degraded),
                        ("ok_become_more_degraded", more_degraded)):
        if values:
            out[key] = values
    return out


def safe_to_destroy_report(
    m: CephModel, ids: list[int], now: float
) -> tuple[dict[str, list[int]], int]:
    """`ceph osd safe-to-destroy IDS -f json`'s verdict, and how many PGs map to the OSDs
    found active."""
    m.settle(now)
    pgs = m.pgs
    mapped = [0] * len(m.osds)  # PGs acting on the OSD, or up on it and not acting
    clean = 0
    for p in range(len(pgs.pgs)):
        up_set, acting = pgs.sets(p)
        for o in {*acting, *up_set}:
            mapped[o] += 1
        clean += {"active", "clean"} <= set(pgs.view(p).state.split("+"))
    stored = pgs.stored()
    verdict: dict[str, list[int]] = {"safe_to_destroy": [], "active": [],
                                     "missing_stats": [], "stored_pgs": []}
    affected = 0
    for o in sorted(set(ids)):
        if not m.has_osd(o):
            verdict["safe_to_destroy"].append(o)  # clearly safe to destroy
        elif mapped[o]:
            verdict["active"].append(o)
            affected += mapped[o]
        elif clean < len(pgs.pgs) and not m.up[o]:
            verdict["missing_stats"].append(o)
        elif clean < len(pgs.pgs) and stored[o]:
            verdict["stored_pgs"].append(o)
        else:
            verdict["safe_to_destroy"].append(o)
    return verdict, affected
