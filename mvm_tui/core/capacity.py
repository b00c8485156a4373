"""Cluster-wide health and capacity figures, from a snapshot. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from mvm_tui.models import ClusterSnapshot, HostState, PowerState


class Health(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    CRITICAL = "critical"


@dataclass(frozen=True)
class ClusterHealth:
    level: Health
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Capacity:
    vcpus_total: int
    cpu_used: float  # vCPUs' worth of load
    vcpus_allocated: int  # vCPUs of running VMs
    memory_total_mb: int
    memory_used_mb: int
    memory_allocated_mb: int
    storage_total_gb: float
    storage_used_gb: float


def cluster_health(snap: ClusterSnapshot, ha: Sequence[str] = ()) -> ClusterHealth:
    """`ha`: what HA says is not OK (core.ha_journal.health_reasons); never OK with any."""
    reasons: list[str] = list(ha)
    down = [h.name for h in snap.hosts if h.state is HostState.UNREACHABLE]
    slow = [h.name for h in snap.hosts if h.state is HostState.SLOW]
    critical = len(down) * 2 >= len(snap.hosts) > 0
    if down:
        reasons.append(f"unreachable: {', '.join(down)}")
    if slow:
        reasons.append(f"slow: {', '.join(slow)}")
    if snap.ceph_error:
        reasons.append(f"Ceph: {snap.ceph_error}")
        critical = True
    elif snap.ceph and snap.ceph.health != "HEALTH_OK":
        reasons.append(f"Ceph {snap.ceph.health}")
        critical = critical or snap.ceph.health == "HEALTH_ERR"
    crashed = [v.name for v in snap.vms if v.power is PowerState.CRASHED]
    if crashed:
        reasons.append(f"crashed VMs: {', '.join(crashed)}")
    if critical:
        return ClusterHealth(Health.CRITICAL, tuple(reasons))
    return ClusterHealth(Health.DEGRADED if reasons else Health.OK, tuple(reasons))


def capacity(snap: ClusterSnapshot) -> Capacity:
    # An unreachable host's load is unknown and its capacity is not available to VMs.
    hosts = [h for h in snap.hosts if h.facts and h.state is not HostState.UNREACHABLE]
    running = [v for v in snap.vms if v.power is PowerState.RUNNING]
    storage_total = sum(h.facts.storage_gb for h in hosts if h.facts)
    storage_used = sum(h.facts.storage_used_gb for h in hosts if h.facts)
    if snap.ceph and snap.ceph.bytes_total:
        storage_total = snap.ceph.bytes_total / 1e9
        storage_used = snap.ceph.bytes_used / 1e9
    return Capacity(
        vcpus_total=sum(h.facts.vcpus for h in hosts if h.facts),
        cpu_used=sum(
            h.facts.vcpus * h.metrics.cpu_pct / 100 for h in hosts if h.facts and h.metrics
        ),
        vcpus_allocated=sum(v.vcpus for v in running),
        memory_total_mb=sum(h.facts.memory_mb for h in hosts if h.facts),
        memory_used_mb=sum(h.metrics.mem_used_mb for h in hosts if h.metrics),
        memory_allocated_mb=sum(v.memory_mb for v in running),
        storage_total_gb=storage_total,
        storage_used_gb=storage_used,
    )
