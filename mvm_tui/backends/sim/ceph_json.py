"""What the simulated `ceph ... -f json` read commands print, in the JSON shapes of Ceph 16.2
(Pacific): the fields, nesting and order of the lab's real samples (tests/fixtures/ceph).

PG statistics come from the PG simulation, which lags the osdmap (CephModel.settle), so
`ceph status`, `ceph osd df tree`, `ok-to-stop` and `safe-to-destroy` all see the same slightly
old PG states, as the mgr reports them on a real cluster.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mvm_tui.backends.sim.ceph import CephModel
from mvm_tui.backends.sim.ceph_verdicts import POOL_ID, pgid
from mvm_tui.backends.sim.spec import SimClusterSpec
from mvm_tui.backends.sim.state import HostState
from mvm_tui.clock import Clock
from mvm_tui.models import CephStatus

POOL_NAME = "vms"  # the RBD pool of the VMs' disks (rbd:vms/<image>)
MAX_DETAIL = 50  # mon_health_max_detail
KB = 1024
_FEATURES = ["kraken", "luminous", "mimic", "osdmap-prune", "nautilus", "octopus", "pacific",
             "elector-pinging"]


def iso(t: float, zulu: bool = True) -> str:
    s = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return s + ("Z" if zulu else "+0000")


def mon_addrs(address: str) -> dict[str, Any]:
    return {"addrvec": [{"type": "v2", "addr": f"{address}:3300", "nonce": 0},
                        {"type": "v1", "addr": f"{address}:6789", "nonce": 0}]}


class CephReads:
    """The read commands of SimCeph (ceph_cli), from its state."""

    spec: SimClusterSpec
    model: CephModel
    hosts: Mapping[str, HostState]
    clock: Clock
    fsid: str
    started: float
    buckets: dict[str, int]  # CRUSH host buckets: name -> id (negative)
    monmap_epoch: int
    mon_created: float
    mon_modified: float
    election_epoch: int
    _quorum_seen: tuple[str, ...]
    _quorum_since: float

    def reports(self) -> dict[tuple[str, ...], Callable[[], Any]]:
        """The reads whose words are fixed (`ceph WORDS -f json`), by their words."""
        return {("status",): self.status_json, ("-s",): self.status_json,
                ("s",): self.status_json, ("health", "detail"): self.health_detail_json,
                ("osd", "df", "tree"): self.osd_df_tree_json, ("osd", "tree"): self.osd_tree_json,
                ("osd", "dump"): self.osd_dump_json, ("quorum_status",): self.quorum_status_json,
                ("pg", "stat"): self.pg_stat_json, ("pg", "ls"): self.pg_ls_json,
                ("osd", "pool", "ls", "detail"): self.pool_ls_detail_json}

    # -- monitors

    def quorum(self) -> tuple[str, ...]:
        """The monitors in quorum now; a change of quorum is an election (epoch + 2)."""
        now = self.clock.now()
        reachable = {n for n, h in self.hosts.items() if h.reachable}
        q = self.model.quorum(reachable, now)
        if q != self._quorum_seen:
            self._quorum_seen, self._quorum_since = q, now
            self.election_epoch += 2
        return q

    def has_quorum(self, q: tuple[str, ...]) -> bool:
        return 2 * len(q) > len(self.model.mons)

    def _ranks(self, names: tuple[str, ...]) -> list[int]:
        return [self.model.mons.index(n) for n in names]

    def monmap_json(self, with_quorum: bool) -> dict[str, Any]:
        mons = []
        for rank, name in enumerate(self.model.mons):
            a = self.hosts[name].spec.address
            mons.append({"rank": rank, "name": name, "public_addrs": mon_addrs(a),
                         "addr": f"{a}:6789/0", "public_addr": f"{a}:6789/0", "priority": 0,
                         "weight": 0, "crush_location": "{}"})
        out: dict[str, Any] = {
            "epoch": self.monmap_epoch, "fsid": self.fsid, "modified": iso(self.mon_modified),
            "created": iso(self.mon_created), "min_mon_release": 16,
            "min_mon_release_name": "pacific", "election_strategy": 1,
            "disallowed_leaders: ": "", "stretch_mode": False, "tiebreaker_mon": "",
            "removed_ranks: ": "", "features": {"persistent": _FEATURES, "optional": []},
            "mons": mons,
        }
        if with_quorum:
            out["quorum"] = self._ranks(self.quorum())
        return out

    def quorum_status_json(self) -> dict[str, Any]:
        q = self.quorum()
        return {"election_epoch": self.election_epoch, "quorum": self._ranks(q),
                "quorum_names": list(q), "quorum_leader_name": q[0] if q else "",
                "quorum_age": int(self.clock.now() - self._quorum_since),
                "features": {"quorum_con": "4540138314316775423", "quorum_mon": _FEATURES},
                "monmap": self.monmap_json(with_quorum=False)}

    # -- status, health

    def _status(self) -> CephStatus:
        return self.model.status(self.clock.now(), self.quorum())

    def _pool_totals(self, st: CephStatus) -> dict[str, Any]:
        """The degraded/misplaced counters status and pg stat print when not zero."""
        copies = st.num_objects * self.spec.pool_size
        out: dict[str, Any] = {}
        for what, n in (("degraded", st.degraded_objects), ("misplaced", st.misplaced_objects)):
            if n:
                out |= {f"{what}_objects": n, f"{what}_total": copies,
                        f"{what}_ratio": n / copies if copies else 0.0}
        return out

    def status_json(self) -> dict[str, Any]:
        now = self.clock.now()
        st = self._status()
        q = st.quorum_names
        states = [(p.state_name, p.count) for p in st.pgs_by_state]
        data = int(sum(pg.nbytes for pg in self.model.pgs.pgs))
        pgmap: dict[str, Any] = {
            "pgs_by_state": [{"state_name": s, "count": c} for s, c in states],
            "num_pgs": st.num_pgs, "num_pools": 1, "num_objects": st.num_objects,
            "data_bytes": data, "bytes_used": st.bytes_used,
            "bytes_avail": max(0, st.bytes_total - st.bytes_used), "bytes_total": st.bytes_total,
        }
        inactive = sum(c for s, c in states if "active" not in s.split("+"))
        if inactive:
            pgmap["inactive_pgs_ratio"] = inactive / st.num_pgs
        pgmap |= self._pool_totals(st)
        if any(w in s for s, _ in states for w in ("recovering", "backfilling")):
            rate = self.spec.recovery_rate_bps
            pgmap |= {"recovering_objects_per_sec": int(rate / self.spec.object_size),
                      "recovering_bytes_per_sec": int(rate), "recovering_keys_per_sec": 0}
        events: dict[str, Any] = {}
        clean = st.pgs_clean
        if clean < st.num_pgs:
            key = str(uuid.uuid5(uuid.UUID(self.fsid), f"recovery/{st.osdmap_epoch}"))
            done = clean / st.num_pgs
            bar = "=" * int(28 * done) + "." * (28 - int(28 * done))
            events[key] = {"message": f"Global Recovery Event\n      [{bar}] ",
                           "progress": done, "add_to_ceph_s": True}
        remapped = sum(c for s, c in states if "remapped" in s.split("+"))
        return {
            "fsid": self.fsid,
            "health": {"status": st.health, "checks": self._checks(st, detail=False),
                       "mutes": []},
            "election_epoch": self.election_epoch, "quorum": self._ranks(q),
            "quorum_names": list(q), "quorum_age": int(now - self._quorum_since),
            "monmap": {"epoch": self.monmap_epoch, "min_mon_release_name": "pacific",
                       "num_mons": st.num_mons},
            "osdmap": {"epoch": st.osdmap_epoch, "num_osds": st.num_osds,
                       "num_up_osds": st.num_up_osds, "osd_up_since": int(self.started),
                       "num_in_osds": st.num_in_osds, "osd_in_since": int(self.started),
                       "num_remapped_pgs": remapped},
            "pgmap": pgmap,
            "fsmap": {"epoch": 1, "by_rank": [], "up:standby": 0},
            "mgrmap": {"available": True, "num_standbys": 0,
                       "modules": ["iostat", "nfs", "restful"], "services": {}},
            "servicemap": {"epoch": 1, "modified": iso(self.started, zulu=False),
                           "services": {}},
            "progress_events": events,
        }

    def osd_dump_json(self) -> dict[str, Any]:
        """`ceph osd dump -f json`: the fields mvm-tui reads (Ceph prints many more)."""
        m = self.model
        m.settle(self.clock.now())
        nearfull = self.spec.nearfull_ratio
        return {"epoch": m.epoch, "fsid": self.fsid, "flags": "sortbitwise,recovery_deletes",
                "full_ratio": max(0.95, nearfull), "backfillfull_ratio": max(0.90, nearfull),
                "nearfull_ratio": nearfull, "max_osd": len(m.osds),
                "osds": [{"osd": o, "uuid": str(uuid.uuid5(uuid.UUID(self.fsid), f"osd.{o}")),
                          "up": int(m.up[o]), "in": int(m.in_[o]),
                          "weight": 1 if m.in_[o] else 0, "primary_affinity": 1}
                         for o in range(len(m.osds)) if m.exists[o]]}

    def health_detail_json(self) -> dict[str, Any]:
        st = self._status()
        return {"status": st.health, "checks": self._checks(st, detail=True), "mutes": []}

    def _checks(self, st: CephStatus, detail: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for code, c in st.checks.items():
            check: dict[str, Any] = {"severity": c.severity,
                                     "summary": {"message": c.message, "count": c.count}}
            if detail:
                check["detail"] = [{"message": m} for m in self._detail(code, st)][:MAX_DETAIL]
            out[code] = check | {"muted": False}
        return out

    def _detail(self, code: str, st: CephStatus) -> list[str]:
        m = self.model
        live = [o.id for o in m.osds if m.exists[o.id]]
        if code == "OSD_DOWN":
            return [f"osd.{o} (root=default,host={m.osds[o].host}) is down"
                    for o in live if not m.up[o] and m.in_[o]]
        if code == "OSD_HOST_DOWN":
            return [f"host {h} (root=default) ({len(m.osd_ids(h))} osds) is down"
                    for h in m.down_hosts()]
        if code == "OSD_ORPHAN":
            return [f"osd.{o.id} exists in crush map but not in osdmap"
                    for o in m.osds if m.in_crush[o.id] and not m.exists[o.id]]
        if code == "MON_DOWN":
            out = []
            for rank, name in enumerate(m.mons):
                if name not in st.quorum_names:
                    a = self.hosts[name].spec.address
                    out.append(f"mon.{name} (rank {rank}) addr [v2:{a}:3300/0,v1:{a}:6789/0] "
                               "is down (out of quorum)")
            return out
        pgs, out = m.pgs, []
        for p in range(len(pgs.pgs)):
            v = pgs.view(p)
            hit = {"PG_DEGRADED": v.degraded > 0 or v.undersized,
                   "PG_AVAILABILITY": not v.active}.get(code, False)
            if hit:
                acting = ",".join(str(o) for o in pgs.sets(p)[1])
                out.append(f"pg {pgid(p)} is {v.state}, acting [{acting}]")
        return out

    def pg_stat_json(self) -> dict[str, Any]:
        st = self._status()
        summary: dict[str, Any] = {
            "num_pg_by_state": [{"name": p.state_name, "num": p.count} for p in st.pgs_by_state],
            "num_pgs": st.num_pgs,
            "num_bytes": int(sum(pg.nbytes for pg in self.model.pgs.pgs)),
            "total_bytes": st.bytes_total,
            "total_avail_bytes": max(0, st.bytes_total - st.bytes_used),
            "total_used_bytes": st.bytes_used, "total_used_raw_bytes": st.bytes_used,
        }
        return {"pg_ready": True, "pg_summary": summary | self._pool_totals(st)}

    def pg_ls_json(self, osd: int | None = None) -> dict[str, Any]:
        """`ceph pg ls -f json` (`pg ls-by-osd OSD` with `osd`): each PG as its primary last
        reported it, so lagging like the rest of the PG statistics."""
        m = self.model
        m.settle(self.clock.now())
        down_now = {o for o in range(len(m.osds)) if m.exists[o] and not m.up[o]}
        stats = []
        for p in range(len(m.pgs.pgs)):
            up, acting = m.pgs.sets(p)
            if osd is not None and osd not in up and osd not in acting:
                continue
            state = m.pgs.view(p).state
            if acting and acting[0] in down_now and not state.startswith("stale"):
                state = f"stale+{state}"
            stats.append({"pgid": pgid(p), "state": state,
                          "reported_epoch": m.stats_epoch, "up": list(up),
                          "acting": list(acting), "up_primary": up[0] if up else -1,
                          "acting_primary": acting[0] if acting else -1,
                          "stat_sum": {"num_objects": m.pgs.pgs[p].objects}})
        return {"pg_ready": True, "pg_stats": stats}

    # -- CRUSH

    def _crush_weight(self, o: int) -> float:
        return round(self.model.osds[o].size_bytes / 2**40 * 65536) / 65536

    def _crush_osds(self, host: str) -> list[int]:
        m = self.model
        return [o.id for o in m.osds if o.host == host and m.in_crush[o.id]]

    def _strays(self) -> list[int]:
        m = self.model
        return [o.id for o in m.osds if m.exists[o.id] and not m.in_crush[o.id]]

    def _osd_fields(self, o: int, depth: int) -> dict[str, Any]:
        return {"id": o, "device_class": "hdd", "name": f"osd.{o}", "type": "osd", "type_id": 0,
                "crush_weight": self._crush_weight(o) if depth else 0, "depth": depth,
                "pool_weights": {}}

    def _status_of(self, o: int) -> dict[str, Any]:
        m = self.model
        return {"exists": int(m.exists[o]), "status": "up" if m.up[o] else "down",
                "reweight": 1 if m.in_[o] else 0, "primary_affinity": 1}

    def osd_tree_json(self) -> dict[str, Any]:
        nodes: list[dict[str, Any]] = [{"id": -1, "name": "default", "type": "root",
                                        "type_id": 11, "children": sorted(self.buckets.values())}]
        for name, bid in self.buckets.items():
            osds = self._crush_osds(name)
            nodes.append({"id": bid, "name": name, "type": "host", "type_id": 1,
                          "pool_weights": {}, "children": sorted(osds, reverse=True)})
            nodes += [self._osd_fields(o, 2) | self._status_of(o) for o in osds]
        stray = [self._osd_fields(o, 0) | self._status_of(o) for o in self._strays()]
        return {"nodes": nodes, "stray": stray}

    def osd_df_tree_json(self) -> dict[str, Any]:
        m, now = self.model, self.clock.now()
        used = m.used_bytes(now)  # settles: the PG stats below are the mgr's, lagging
        stored = m.pgs.stored()
        data = m.pgs.osd_bytes()
        zero = (0, 0, 0, 0)
        usage: dict[int, tuple[int, int, int, int]] = {}  # OSD -> kb, used, data, PGs
        for o in (o.id for o in m.osds if m.exists[o.id]):
            pgs = stored[o] if m.up[o] else 0
            if m.in_[o]:
                usage[o] = (m.osds[o].size_bytes // KB, used[o] // KB, int(data[o]) // KB, pgs)
            else:  # an out OSD reports no space, but (as the lab's Ceph 16 shows right
                usage[o] = (0, 0, 0, pgs)  # after an out) the PGs the statistics still give it
        in_use = list(usage.values())
        total, total_used = sum(u[0] for u in in_use), sum(u[1] for u in in_use)
        avg = 100.0 * total_used / total if total else 0.0
        utils = [100.0 * u[1] / u[0] for u in in_use if u[0]]

        def df(u: tuple[int, int, int, int], reweight: float) -> dict[str, Any]:
            kb, kb_used, kb_data, pgs = u
            util = 100.0 * kb_used / kb if kb else 0
            return {"reweight": reweight, "kb": kb, "kb_used": kb_used, "kb_used_data": kb_data,
                    "kb_used_omap": 0, "kb_used_meta": kb_used - kb_data,
                    "kb_avail": kb - kb_used, "utilization": util,
                    "var": util / avg if avg else 0, "pgs": pgs}

        def add(us: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
            return (sum(u[0] for u in us), sum(u[1] for u in us), sum(u[2] for u in us), 0)

        def osd_node(o: int, depth: int) -> dict[str, Any]:
            return (self._osd_fields(o, depth) | df(usage.get(o, zero), 1 if m.in_[o] else 0)
                    | {"status": "up" if m.up[o] else "down"})

        root = ({"id": -1, "name": "default", "type": "root", "type_id": 11}
                | df(add(in_use), -1) | {"var": 1 if total else 0,
                                         "children": sorted(self.buckets.values())})
        nodes = [root]
        for name, bid in self.buckets.items():
            osds = self._crush_osds(name)
            nodes.append({"id": bid, "name": name, "type": "host", "type_id": 1,
                          "pool_weights": {}} | df(add([usage.get(o, zero) for o in osds]), -1)
                         | {"children": sorted(osds, reverse=True)})
            nodes += [osd_node(o, 2) for o in osds]
        r = df(add(in_use), -1)
        summary = {"total_kb": total, "total_kb_used": total_used,
                   "total_kb_used_data": r["kb_used_data"], "total_kb_used_omap": 0,
                   "total_kb_used_meta": r["kb_used_meta"], "total_kb_avail": total - total_used,
                   "average_utilization": avg,
                   "min_var": min(utils) / avg if avg else 0,
                   "max_var": max(utils) / avg if avg else 0,
                   "dev": statistics.pstdev(utils) if utils else 0}
        strays = [osd_node(o, 0) for o in self._strays()]
        return {"nodes": nodes, "stray": strays, "summary": summary}

    # -- pools

    def pool_ls_detail_json(self) -> list[dict[str, Any]]:
        s, n = self.spec, len(self.model.pgs.pgs)
        merge = {"source_pgid": "0.0", "ready_epoch": 0, "last_epoch_started": 0,
                 "last_epoch_clean": 0, "source_version": "0'0", "target_version": "0'0"}
        return [{
            "pool_id": POOL_ID, "pool_name": POOL_NAME, "create_time": iso(self.started),
            "flags": 1, "flags_names": "hashpspool", "type": 1, "size": s.pool_size,
            "min_size": s.pool_min_size, "crush_rule": 0, "peering_crush_bucket_count": 0,
            "peering_crush_bucket_target": 0, "peering_crush_bucket_barrier": 0,
            "peering_crush_bucket_mandatory_member": 2147483647, "object_hash": 2,
            "pg_autoscale_mode": "on", "pg_num": n, "pg_placement_num": n,
            "pg_placement_num_target": n, "pg_num_target": n, "pg_num_pending": n,
            "last_pg_merge_meta": merge, "last_change": str(2 * len(self.model.osds) + 8),
            "last_force_op_resend": "0", "last_force_op_resend_prenautilus": "0",
            "last_force_op_resend_preluminous": "0", "auid": 0, "snap_mode": "selfmanaged",
            "snap_seq": 0, "snap_epoch": 0, "pool_snaps": [], "removed_snaps": "[]",
            "quota_max_bytes": 0, "quota_max_objects": 0, "tiers": [], "tier_of": -1,
            "read_tier": -1, "write_tier": -1, "cache_mode": "none", "target_max_bytes": 0,
            "target_max_objects": 0, "cache_target_dirty_ratio_micro": 400000,
            "cache_target_dirty_high_ratio_micro": 600000,
            "cache_target_full_ratio_micro": 800000, "cache_min_flush_age": 0,
            "cache_min_evict_age": 0, "erasure_code_profile": "",
            "hit_set_params": {"type": "none"}, "hit_set_period": 0, "hit_set_count": 0,
            "use_gmt_hitset": True, "min_read_recency_for_promote": 0,
            "min_write_recency_for_promote": 0, "hit_set_grade_decay_rate": 0,
            "hit_set_search_last_n": 0, "grade_table": [], "stripe_width": 0,
            "expected_num_objects": 0, "fast_read": False, "options": {},
            "application_metadata": {"rbd": {}},
        }]
