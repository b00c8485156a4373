"""Decommissioning a Ceph host: what it holds and whether the cluster can do without it.
Pure: it takes parsed Ceph outputs and decides; the Run that does it is services.decommission.

The plan screen shows: the host's OSDs (from `ceph osd df tree`), its monitor, and three
checks: the data fits on the other OSDs that are up and in below the cluster's nearfull ratio
(`ceph osd dump`), enough hosts with an OSD up and in are left for every pool's size (replicas
go to different hosts), and the monitors left still form a quorum; and a warning when that
quorum could lose no further monitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mvm_tui.ceph_crush import OsdDfNode, OsdDfTree
from mvm_tui.ceph_models import MonMap
from mvm_tui.units import count, is_are

KB = 1024
GB = 1e9


@dataclass(frozen=True)
class Pool:
    name: str
    size: int  # replicas
    min_size: int


@dataclass(frozen=True)
class OsdRow:
    id: int
    size_gb: float
    used_gb: float
    pgs: int
    up: bool
    in_: bool


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    detail: str


@dataclass(frozen=True)
class DecommissionPlan:
    host: str  # as mvm-tui names it
    bucket: str  # its CRUSH host bucket (its short hostname)
    address: str
    in_maintenance: bool
    osds: tuple[OsdRow, ...]
    mon: str | None
    checks: tuple[Check, ...]
    warnings: tuple[str, ...] = ()  # worth knowing, not blocking

    @property
    def osd_ids(self) -> list[int]:
        return [o.id for o in self.osds]

    @property
    def blockers(self) -> list[str]:
        out = [] if self.in_maintenance else [f"{self.host} is not in maintenance"]
        return out + [f"{c.what}: {c.detail}" for c in self.checks if not c.ok]


def mon_of(monmap: MonMap, bucket: str, address: str) -> str | None:
    """The monitor that runs on the host: named after it, or listening on its address."""
    for m in monmap.mons:
        addrs = [a.addr for a in m.public_addrs.addrvec] + [m.addr, m.public_addr]
        if m.name == bucket or any(a.split("/")[0].rsplit(":", 1)[0] == address for a in addrs
                                   if a):
            return m.name
    return None


def plan_decommission(
    host: str,
    address: str,
    bucket: str,
    in_maintenance: bool,
    tree: OsdDfTree,
    monmap: MonMap,
    quorum: Sequence[str],
    pools: Sequence[Pool],
    *,
    nearfull_ratio: float,
) -> DecommissionPlan:
    """`nearfull_ratio` is the cluster's (`ceph osd dump -f json`), not a default."""
    osds = []
    for osd_id in tree.osds_on(bucket):
        n = tree.df(osd_id)
        if n is None:
            continue
        osds.append(OsdRow(n.id, round(n.kb * KB / GB, 2), round(n.kb_used * KB / GB, 2),
                           n.pgs, n.status == "up", (n.reweight or 0) > 0))
    mon = mon_of(monmap, bucket, address)
    checks = (_capacity(tree, bucket, nearfull_ratio), _hosts_left(tree, bucket, pools),
              _quorum_left(monmap, quorum, mon))
    return DecommissionPlan(host, bucket, address, in_maintenance, tuple(osds), mon, checks,
                            _quorum_margin(monmap, quorum, mon))


def _up_and_in(n: OsdDfNode) -> bool:
    return n.type == "osd" and n.status == "up" and (n.reweight or 0) > 0


def _capacity(tree: OsdDfTree, bucket: str, nearfull: float) -> Check:
    mine = set(tree.osds_on(bucket))
    rest = [n for n in tree.nodes if _up_and_in(n) and n.id not in mine]
    total = sum(n.kb for n in rest)
    used = tree.summary.total_kb_used
    what = "the other OSDs can take the data"
    if total <= 0:
        return Check(False, what, "no other OSD would be left")
    after = used / total
    detail = (f"{used * KB / GB:.1f} GB used of {total * KB / GB:.1f} GB left: "
              f"{after:.0%} after removal (nearfull at {nearfull:.0%})")
    return Check(after < nearfull, what, detail)


def _hosts_left(tree: OsdDfTree, bucket: str, pools: Sequence[Pool]) -> Check:
    serving = {n.id for n in tree.nodes if _up_and_in(n)}
    left = [h.name for h in tree.of_type("host")
            if h.name != bucket and serving.intersection(h.children)]
    short = [f"{p.name} (size {p.size})" for p in pools if p.size > len(left)]
    what = "enough hosts are left for every pool"
    if short:
        return Check(False, what, f"{count(len(left), 'host')} with an OSD up and in would "
                     f"be left, too few for {', '.join(short)}")
    biggest = max((p.size for p in pools), default=0)
    return Check(True, what, f"{count(len(left), 'host')} with an OSD up and in left, the "
                 f"largest pool keeps {count(biggest, 'replica')}")


def _quorum_left(monmap: MonMap, quorum: Sequence[str], mon: str | None) -> Check:
    what = "a monitor quorum is left"
    if mon is None:
        return Check(True, what, "the host runs no monitor")
    others = [n for n in monmap.names if n != mon]
    needed = len(others) // 2 + 1
    in_quorum = [n for n in others if n in quorum]
    if not others or len(in_quorum) < needed:
        return Check(False, what, f"without {mon}, {len(in_quorum)} of {len(others)} monitors "
                     f"are in quorum; {needed} are needed")
    return Check(True, what, f"{len(in_quorum)} of {len(others)} monitors left in quorum "
                 f"({needed} needed)")


def _quorum_margin(monmap: MonMap, quorum: Sequence[str], mon: str | None) -> tuple[str, ...]:
    """A warning when, without the host's monitor, the monitors left in quorum are exactly
    as many as a quorum needs: one more monitor lost (or restarted) and the cluster stops."""
    if mon is None:
        return ()
    others = [n for n in monmap.names if n != mon]
    needed = len(others) // 2 + 1
    in_quorum = [n for n in others if n in quorum]
    if not others or len(in_quorum) != needed:
        return ()
    return (f"without {mon}, {count(len(in_quorum), 'monitor')} {is_are(len(in_quorum))} in quorum "
            f"and {needed} {is_are(needed)} needed: "
            "the cluster can lose no further monitor (add one after the decommission)",)


def without_address(mon_host: str, address: str) -> str:
    """mon_host without the entries of `address`: "[v2:A:3300,v1:A:6789],[v2:B..]" or
    "A,B" (plain addresses)."""
    entries, depth, current = [], 0, ""
    for ch in mon_host:
        if ch == "," and depth == 0:
            entries.append(current.strip())
            current = ""
            continue
        depth += ch == "["
        depth -= ch == "]"
        current += ch
    entries.append(current.strip())
    def host_of(part: str) -> str:
        part = part.split(":", 1)[1] if part.startswith(("v1:", "v2:")) else part
        return part.rsplit(":", 1)[0] if part.count(":") == 1 else part
    kept = [e for e in entries if e and address not in
            {host_of(p.strip()) for p in e.strip("[]").split(",")}]
    return ",".join(kept)
