"""Raw shapes of `ceph ... -f json` outputs (Ceph 16.2 Pacific): the fields an operator needs.

Unknown keys are ignored so a newer Ceph adding fields still parses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mvm_tui.models import CephCheck

Severity = Literal["HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"]
CLEAN = "active+clean"


class Raw(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# -- health (in `ceph status` and `ceph health detail`)


class CheckSummary(Raw):
    message: str
    count: int = 0


class CheckDetail(Raw):
    message: str


class HealthCheck(Raw):
    severity: Severity
    summary: CheckSummary
    detail: tuple[CheckDetail, ...] = ()  # only in `ceph health detail`
    muted: bool = False


class HealthReport(Raw):
    """`ceph health detail -f json`, and the `health` part of `ceph status`."""

    status: Severity
    checks: dict[str, HealthCheck] = Field(default_factory=dict)

    def to_checks(self) -> dict[str, CephCheck]:
        return {
            code: CephCheck(severity=c.severity, message=c.summary.message, count=c.summary.count)
            for code, c in sorted(self.checks.items())
        }


# -- ceph status


class MonmapSummary(Raw):
    epoch: int = 0
    num_mons: int


class OsdmapSummary(Raw):
    epoch: int
    num_osds: int
    num_up_osds: int
    num_in_osds: int
    num_remapped_pgs: int = 0

    @model_validator(mode="before")
    @classmethod
    def _unnest(cls, data: Any) -> Any:
        # Nautilus and older nest the summary: {"osdmap": {"osdmap": {...}}}
        if isinstance(data, dict) and isinstance(data.get("osdmap"), dict):
            return data["osdmap"]
        return data


class PgState(Raw):
    state_name: str
    count: int


class Pgmap(Raw):
    pgs_by_state: tuple[PgState, ...] = ()
    num_pgs: int
    num_pools: int = 0
    num_objects: int = 0
    data_bytes: int = 0
    bytes_used: int = 0
    bytes_avail: int = 0
    bytes_total: int = 0
    inactive_pgs_ratio: float = 0.0
    degraded_objects: int = 0
    degraded_total: int = 0
    misplaced_objects: int = 0
    misplaced_total: int = 0
    # present only while recovery runs
    recovering_objects_per_sec: float | None = None
    recovering_bytes_per_sec: float | None = None

    @property
    def all_active_clean(self) -> bool:
        return sum(p.count for p in self.pgs_by_state if p.state_name == CLEAN) == self.num_pgs


class ProgressEvent(Raw):
    message: str
    progress: float = 0.0


class StatusReport(Raw):
    """`ceph status -f json` (alias `ceph -s`)."""

    fsid: str = ""
    health: HealthReport
    election_epoch: int = 0
    quorum: tuple[int, ...] = ()
    quorum_names: tuple[str, ...] = ()
    quorum_age: int = 0
    monmap: MonmapSummary
    osdmap: OsdmapSummary
    pgmap: Pgmap
    progress_events: dict[str, ProgressEvent] = Field(default_factory=dict)


# -- monitors


class AddrVecEntry(Raw):
    type: str
    addr: str
    nonce: int = 0


class AddrVec(Raw):
    addrvec: tuple[AddrVecEntry, ...] = ()


class MonInfo(Raw):
    rank: int
    name: str
    public_addrs: AddrVec = AddrVec()
    addr: str = ""
    public_addr: str = ""


class MonMap(Raw):
    """`ceph mon dump -f json`, and the `monmap` part of `ceph quorum_status`."""

    epoch: int
    fsid: str = ""
    mons: tuple[MonInfo, ...]
    quorum: tuple[int, ...] = ()  # only in `mon dump`

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.mons)


class QuorumStatus(Raw):
    """`ceph quorum_status -f json`."""

    election_epoch: int
    quorum: tuple[int, ...]
    quorum_names: tuple[str, ...]
    quorum_leader_name: str = ""
    quorum_age: int = 0
    monmap: MonMap

    @property
    def out_of_quorum(self) -> tuple[str, ...]:
        return tuple(n for n in self.monmap.names if n not in self.quorum_names)


# -- pg stat


class PgStatState(Raw):
    name: str
    num: int


class PgSummary(Raw):
    num_pg_by_state: tuple[PgStatState, ...] = ()
    num_pgs: int
    num_bytes: int = 0
    total_bytes: int = 0
    total_avail_bytes: int = 0
    total_used_bytes: int = 0


class PgStat(Raw):
    """`ceph pg stat -f json`."""

    pg_ready: bool = True
    pg_summary: PgSummary

    @property
    def all_active_clean(self) -> bool:
        s = self.pg_summary
        return sum(p.num for p in s.num_pg_by_state if p.name == CLEAN) == s.num_pgs


# -- pg ls: one PG each, as its primary last reported it (fresher than `ceph status`)


class PgListEntry(Raw):
    pgid: str
    state: str
    reported_epoch: int  # the osdmap epoch of the primary's last report
    up: tuple[int, ...] = ()
    acting: tuple[int, ...] = ()

    def on(self, osd: int) -> bool:
        return osd in self.up or osd in self.acting


class PgList(Raw):
    """`ceph pg ls [STATE...] -f json` and `ceph pg ls-by-osd ID -f json`."""

    pg_ready: bool = True
    pg_stats: tuple[PgListEntry, ...]


# -- pools


class PoolDetail(Raw):
    """One pool of `ceph osd pool ls detail -f json` (a JSON list of them)."""

    pool_id: int = 0
    pool_name: str
    type: int = 1  # 1 replicated, 3 erasure
    size: int  # replicas (k+m for erasure)
    min_size: int
    crush_rule: int = 0
    pg_num: int = 0
    application_metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.pool_name


# -- pre-flight checks: both print JSON on stdout and may also exit non-zero


class OkToStop(Raw):
    """`ceph osd ok-to-stop ID... -f json`. Exits 16 (EBUSY) when not ok, still printing JSON."""

    ok_to_stop: bool
    osds: tuple[int, ...] = ()
    num_ok_pgs: int = 0
    num_not_ok_pgs: int = 0
    unknown_pgs: tuple[str, ...] = ()
    bad_become_inactive: tuple[str, ...] = ()
    ok_become_degraded: tuple[str, ...] = ()
    error: str = ""  # the command's stderr when it exited non-zero


class SafeToDestroy(Raw):
    """`ceph osd safe-to-destroy ID... -f json`. Prints JSON and exits 0 whatever the verdict;
    only a cluster with PGs in unknown state makes it exit non-zero, with no JSON."""

    safe_to_destroy: tuple[int, ...]
    active: tuple[int, ...]
    missing_stats: tuple[int, ...]
    stored_pgs: tuple[int, ...]
    error: str = ""

    def is_safe(self, osd_ids: list[int]) -> bool:
        blocked = {*self.active, *self.missing_stats, *self.stored_pgs}
        return (
            not self.error
            and bool(osd_ids)
            and all(o in self.safe_to_destroy and o not in blocked for o in osd_ids)
        )
