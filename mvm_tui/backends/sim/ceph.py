"""The simulated Ceph cluster of an HCI cluster: OSD map, monitors and `ceph status`.

The osdmap is always current; the PG statistics lag it by `pg_stats_lag_s`, as in real Ceph
where `ceph status` right after `ceph osd out` still shows every PG active+clean. OSDs can be
taken apart as a decommission does (daemon stopped, CRUSH entry removed, id removed) and
monitors stopped (they leave the quorum once the others have elected without them).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from mvm_tui.backends.base import InvalidState, NotFound
from mvm_tui.backends.sim.pgs import MapChange, PgSim, PgSummary
from mvm_tui.backends.sim.spec import SimClusterSpec
from mvm_tui.models import CephCheck, CephStatus, PgStateCount


@dataclass(frozen=True)
class OsdSpec:
    id: int
    host: str
    device: str
    size_bytes: int


class CephModel:
    def __init__(
        self,
        spec: SimClusterSpec,
        osds: list[OsdSpec],
        mons: list[str],
        stored_bytes: float,
        seed: int,
        now: float,
    ) -> None:
        self.osds = osds
        self.mons = mons
        self._spec = spec
        n = len(osds)
        self.up = [True] * n
        self.in_ = [True] * n
        self._auto_out = [False] * n  # marked out by the monitors, not by an operator
        self.exists = [True] * n  # False once `ceph osd rm`
        self.in_crush = [True] * n  # False once `ceph osd crush remove`
        self.stopped = [False] * n  # its daemon stopped by systemctl: it stays down
        self.mon_stopped: dict[str, float] = {}  # monitor -> when its daemon was stopped
        self._down_since = [now] * n
        self._epoch = self._first_epoch = 10 + 2 * n  # creating the pool and OSDs took some
        self._time = now
        self.pgs = PgSim(
            [o.host for o in osds],
            [o.size_bytes / 1e12 for o in osds],
            pgs=spec.pgs,
            size=spec.pool_size,
            min_size=spec.pool_min_size,
            stored_bytes=stored_bytes,
            object_size=spec.object_size,
            rate_bps=spec.recovery_rate_bps,
            max_active=spec.recovery_max_pgs,
            rewrite_per_s=spec.pg_rewrite_per_s,
            seed=seed,
            now=now,
        )

    def osd_ids(self, host: str) -> list[int]:
        """The host's OSDs (not those removed with `ceph osd rm`)."""
        return [o.id for o in self.osds if o.host == host and self.exists[o.id]]

    def _osd(self, osd_id: int) -> int:
        if not 0 <= osd_id < len(self.osds) or not self.exists[osd_id]:
            raise NotFound(f"osd.{osd_id} does not exist")
        return osd_id

    def has_osd(self, osd_id: int) -> bool:
        return 0 <= osd_id < len(self.osds) and self.exists[osd_id]

    # -- monitors

    def quorum(self, reachable: Container[str], now: float) -> tuple[str, ...]:
        """The monitors in quorum: those of the monmap whose host answers and whose daemon
        runs. A stopped daemon is still listed until the others have elected without it
        (mon_election_s later), as `ceph quorum_status` shows it."""
        wait = self._spec.mon_election_s
        return tuple(
            m
            for m in self.mons
            if m in reachable and (m not in self.mon_stopped or now < self.mon_stopped[m] + wait)
        )

    def electing(self, now: float) -> bool:
        """Whether the monitors are electing a quorum without a stopped one right now."""
        wait = self._spec.mon_election_s
        return any(m in self.mons and now < t + wait for m, t in self.mon_stopped.items())

    # -- time

    def settle(self, now: float) -> None:
        """Bring the osdmap to `now` (marking long-down OSDs out) and the PGs to now - lag."""
        now = max(now, self._time)
        interval = self._spec.down_out_interval_s
        due = sorted(
            (self._down_since[o] + interval, o)
            for o in range(len(self.osds))
            if not self.up[o] and self.in_[o] and self._down_since[o] + interval <= now
        )
        for t, o in due:
            self._time = t
            self.in_[o] = False
            self._auto_out[o] = True
            self._new_epoch()
        self._time = now
        self.pgs.advance(now - self._spec.pg_stats_lag_s)

    @property
    def epoch(self) -> int:
        """The osdmap epoch: OSD changes, and pg_temp changes of the PGs (which the PG
        statistics see when they happen: a status from a later epoch than an `osd out`
        reflects it)."""
        return self._epoch + self.pgs.temp_epochs

    @property
    def stats_epoch(self) -> int:
        """The osdmap epoch the (lagging) PG statistics are at: what the PGs report as
        `reported_epoch`."""
        return self._first_epoch + self.pgs.applied + self.pgs.temp_epochs

    def _new_epoch(self) -> None:
        self._epoch += 1
        # PGs map to OSDs that are in and in the CRUSH map
        mapped = tuple(i and c for i, c in zip(self.in_, self.in_crush, strict=True))
        self.pgs.pending.append(MapChange(self._time, tuple(self.up), mapped))

    # -- changes

    def set_up(self, osd_ids: list[int], up: bool, now: float) -> None:
        """OSD daemons come up or go down (their host powered off or cut off)."""
        self.settle(now)
        changed = [
            o
            for o in osd_ids
            if self.up[o] != up and (not up or (self.exists[o] and not self.stopped[o]))
        ]
        if not changed:
            return
        for o in changed:
            self.up[o] = up
            if not up:
                self._down_since[o] = now
            elif self._auto_out[o]:  # mon_osd_auto_mark_auto_out_in
                self.in_[o] = True
                self._auto_out[o] = False
        self._new_epoch()

    def mark_out(self, osd_id: int, now: float) -> None:
        o = self._osd(osd_id)
        self.settle(now)
        if not self.in_[o]:
            raise InvalidState(f"osd.{o} is already out")
        self.in_[o] = False
        self._auto_out[o] = False
        self._new_epoch()

    def mark_in(self, osd_id: int, now: float) -> None:
        o = self._osd(osd_id)
        self.settle(now)
        if self.in_[o]:
            raise InvalidState(f"osd.{o} is already in")
        self.in_[o] = True
        self._auto_out[o] = False
        self._new_epoch()

    def stop_daemon(self, osd_id: int, now: float) -> None:
        """`systemctl stop ceph-osd@N`: the OSD goes down and stays down."""
        o = self._osd(osd_id)
        self.stopped[o] = True
        self.set_up([o], False, now)

    def crush_remove(self, osd_id: int, now: float) -> None:
        """`ceph osd crush remove osd.N` (N removed from the osdmap already, or not): no PG
        maps to it any more."""
        o = osd_id
        if not 0 <= o < len(self.osds) or not self.in_crush[o]:
            raise NotFound(f"osd.{o} is not in the CRUSH map")
        self.settle(now)
        self.in_crush[o] = False
        self._new_epoch()

    def remove(self, osd_id: int, now: float) -> None:
        """`ceph osd rm N`: refused while the OSD is up."""
        o = self._osd(osd_id)
        self.settle(now)
        if self.up[o]:
            raise InvalidState(f"osd.{o} is still up; must be down before removal")
        self.exists[o] = False
        self.in_[o] = False
        self._auto_out[o] = False
        self._new_epoch()

    # -- what it reports

    def used_bytes(self, now: float) -> list[int]:
        """Bytes used on each OSD (PG data plus BlueStore's own)."""
        self.settle(now)
        overhead = self._spec.osd_overhead_bytes
        return [int(b) + overhead for b in self.pgs.osd_bytes()]

    def status(self, now: float, quorum: tuple[str, ...]) -> CephStatus:
        self.settle(now)
        live = [o.id for o in self.osds if self.exists[o.id]]
        pgs = self.pgs.summary(down_now={o for o in live if not self.up[o]})
        n = len(live)
        n_up, n_in = sum(self.up[o] for o in live), sum(self.in_[o] for o in live)
        checks = self._health_checks(live, pgs, quorum)
        used = self.used_bytes(now)
        up_osds = [o for o in live if self.up[o]]
        return CephStatus.model_construct(
            health="HEALTH_WARN" if checks else "HEALTH_OK",
            checks=checks,
            num_mons=len(self.mons),
            quorum_names=quorum,
            num_osds=n,
            num_up_osds=n_up,
            num_in_osds=n_in,
            osdmap_epoch=self.epoch,
            pgs_by_state=tuple(
                PgStateCount(state_name=s, count=c)
                for s, c in sorted(pgs.by_state.items(), key=lambda sc: (-sc[1], sc[0]))
            ),
            num_pgs=len(self.pgs.pgs),
            bytes_used=sum(used[o] for o in up_osds),
            bytes_total=sum(self.osds[o].size_bytes for o in up_osds),
            degraded_objects=pgs.degraded,
            misplaced_objects=pgs.misplaced,
            num_objects=self.pgs.num_objects,
        )

    def _health_checks(self, live: list[int], pgs: PgSummary,
                       quorum: tuple[str, ...]) -> dict[str, CephCheck]:
        """The HEALTH_WARN checks `ceph status` shows now, by code (sorted)."""
        copies = self.pgs.num_objects * self._spec.pool_size
        checks: dict[str, CephCheck] = {}

        def warn(code: str, message: str, count: int) -> None:
            checks[code] = CephCheck(severity="HEALTH_WARN", message=message, count=count)

        if len(quorum) < len(self.mons):
            down = len(self.mons) - len(quorum)
            warn("MON_DOWN", f"{down}/{len(self.mons)} mons down, quorum {','.join(quorum)}", down)
        if pgs.misplaced:
            warn(
                "OBJECT_MISPLACED",
                f"{pgs.misplaced}/{copies} objects misplaced ({_pct(pgs.misplaced, copies)})",
                pgs.misplaced,
            )
        # like Ceph, only OSDs down while still in count (an out one is expected down)
        down_in = [o for o in live if not self.up[o] and self.in_[o]]
        if down_in:
            warn("OSD_DOWN", f"{len(down_in)} osds down", len(down_in))
            down_hosts = self.down_hosts()
            if down_hosts:
                k = sum(len(self.osd_ids(h)) for h in down_hosts)
                s = "" if len(down_hosts) == 1 else "s"
                warn("OSD_HOST_DOWN", f"{len(down_hosts)} host{s} ({k} osds) down", len(down_hosts))
        orphans = sum(1 for o in self.osds if self.in_crush[o.id] and not self.exists[o.id])
        if orphans:
            warn("OSD_ORPHAN", f"{orphans} osds exist in the crush map but not in the osdmap",
                 orphans)
        if pgs.inactive_pgs:
            parts = [f"{pgs.inactive_pgs} pgs inactive"]
            if pgs.stale_pgs:
                parts.append(f"{pgs.stale_pgs} pgs stale")
            warn(
                "PG_AVAILABILITY",
                "Reduced data availability: " + ", ".join(parts),
                pgs.inactive_pgs,
            )
        if pgs.degraded or pgs.undersized_pgs:
            msg = (
                f"Degraded data redundancy: {pgs.degraded}/{copies} objects degraded "
                f"({_pct(pgs.degraded, copies)}), {pgs.degraded_pgs} pgs degraded"
            )
            if pgs.undersized_pgs:
                msg += f", {pgs.undersized_pgs} pgs undersized"
            warn("PG_DEGRADED", msg, max(pgs.degraded_pgs, pgs.undersized_pgs))
        return dict(sorted(checks.items()))

    def down_hosts(self) -> list[str]:
        """Hosts whose OSDs are all down, one of them at least still in."""
        hosts = list(dict.fromkeys(o.host for o in self.osds))
        return [
            h
            for h in hosts
            if (ids := self.osd_ids(h))
            and all(not self.up[o] for o in ids)
            and any(self.in_[o] for o in ids)
        ]


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.3f}%" if whole else "0.000%"
