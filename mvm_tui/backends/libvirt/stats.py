"""Loads from libvirt's cumulative counters: rates are deltas between two polls.

libvirt reports CPU time, bytes read/written and received/sent as totals since the domain (or
the node) started. A rate needs the previous sample of the same domain, so the first poll of a
domain gives 0 rates; a counter that went backwards (the domain restarted) gives 0 too and
starts over. Memory is a level, not a rate: it is right from the first poll.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import libvirt  # type: ignore[import-untyped]

# What getAllDomainStats is asked for.
DOMAIN_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)
KIB = 1024


@dataclass(frozen=True)
class VmLoad:
    cpu_pct: float = 0.0  # of the domain's own vCPUs
    mem_used_mb: int = 0
    disk_rd_bps: float = 0.0
    disk_wr_bps: float = 0.0
    net_rx_bps: float = 0.0
    net_tx_bps: float = 0.0


@dataclass(frozen=True)
class _Counters:
    t: float
    cpu_ns: int | None
    rd: int
    wr: int
    rx: int
    tx: int


def _num(rec: Mapping[str, Any], key: str) -> int:
    value = rec.get(key)
    return int(value) if isinstance(value, int | float) else 0


def _sum(rec: Mapping[str, Any], kind: str, field: str) -> int:
    return sum(_num(rec, f"{kind}.{i}.{field}") for i in range(_num(rec, f"{kind}.count")))


def counters(t: float, rec: Mapping[str, Any]) -> _Counters:
    cpu = rec.get("cpu.time")
    return _Counters(
        t=t,
        cpu_ns=int(cpu) if isinstance(cpu, int) else None,
        rd=_sum(rec, "block", "rd.bytes"),
        wr=_sum(rec, "block", "wr.bytes"),
        rx=_sum(rec, "net", "rx.bytes"),
        tx=_sum(rec, "net", "tx.bytes"),
    )


def mem_used_mb(rec: Mapping[str, Any]) -> int:
    """The guest's memory in use: what the balloon driver says the guest uses (available -
    usable) when the guest reports it, else the QEMU process' resident size, else the
    balloon's current size. 0 when none is known (e.g. a domain that is not running)."""
    available, usable = _num(rec, "balloon.available"), _num(rec, "balloon.usable")
    if available and usable:
        kib = max(available - usable, 0)
    else:
        kib = _num(rec, "balloon.rss") or _num(rec, "balloon.current")
    return kib // KIB


def disk_capacities(rec: Mapping[str, Any]) -> dict[str, int]:
    """Disk target ("vda") -> capacity in bytes, from the block stats of a running domain."""
    caps: dict[str, int] = {}
    for i in range(_num(rec, "block.count")):
        name, cap = rec.get(f"block.{i}.name"), rec.get(f"block.{i}.capacity")
        if isinstance(name, str) and isinstance(cap, int) and cap > 0:
            caps[name] = cap
    return caps


def _rate(new: int, old: int, dt: float) -> float:
    return round(max(new - old, 0) / dt, 1)


class StatsTracker:
    """The previous sample of every domain (by UUID) and of the node's CPU, for one host."""

    def __init__(self) -> None:
        self._vms: dict[str, _Counters] = {}
        self._cpu: tuple[int, int] | None = None  # busy, total (ns)
        # (domain UUID, disk target) -> bytes: disk sizes change rarely, and sizing a disk of
        # a stopped domain costs a call per disk
        self.capacities: dict[tuple[str, str], int] = {}

    def vm_load(
        self, key: str, t: float, rec: Mapping[str, Any], vcpus: int, *, record: bool = True
    ) -> VmLoad:
        """The load of one domain from its stats record at monotonic time t. With
        record=False the sample is not kept (a one-off look must not shorten the next poll's
        interval)."""
        cur = counters(t, rec)
        prev = self._vms.get(key)
        if record:
            self._vms[key] = cur
        mem = mem_used_mb(rec)
        if prev is None or cur.t <= prev.t:
            return VmLoad(mem_used_mb=mem)
        dt = cur.t - prev.t
        cpu = 0.0
        if cur.cpu_ns is not None and prev.cpu_ns is not None and cur.cpu_ns >= prev.cpu_ns:
            cpu = 100.0 * (cur.cpu_ns - prev.cpu_ns) / (dt * 1e9 * max(vcpus, 1))
        return VmLoad(
            cpu_pct=round(min(cpu, 100.0), 2),
            mem_used_mb=mem,
            disk_rd_bps=_rate(cur.rd, prev.rd, dt),
            disk_wr_bps=_rate(cur.wr, prev.wr, dt),
            net_rx_bps=_rate(cur.rx, prev.rx, dt),
            net_tx_bps=_rate(cur.tx, prev.tx, dt),
        )

    def forget(self, key: str) -> None:
        self._vms.pop(key, None)

    def keep_only(self, keys: Iterable[str]) -> None:
        """Drop the samples of domains that are gone (or stopped)."""
        keep = set(keys)
        for key in [k for k in self._vms if k not in keep]:
            del self._vms[key]

    def keep_capacities(self, keys: Iterable[str]) -> None:
        """Drop the disk sizes of domains that are no longer defined on the host."""
        keep = set(keys)
        for key in [k for k in self.capacities if k[0] not in keep]:
            del self.capacities[key]

    def host_cpu_pct(self, cpu_stats: Mapping[str, Any]) -> float:
        """Node CPU % from conn.getCPUStats(VIR_NODE_CPU_STATS_ALL_CPUS): busy share of the
        time since the previous poll; on the first poll, the average since the node booted.
        A driver that reports "utilization" directly is taken at its word."""
        if "utilization" in cpu_stats:
            return round(min(max(float(cpu_stats["utilization"]), 0.0), 100.0), 2)
        busy = _num(cpu_stats, "kernel") + _num(cpu_stats, "user")
        total = busy + _num(cpu_stats, "idle") + _num(cpu_stats, "iowait")
        prev, self._cpu = self._cpu, (busy, total)
        if prev is not None and total > prev[1] and busy >= prev[0]:
            busy, total = busy - prev[0], total - prev[1]
        elif prev is not None:
            return 0.0  # no time passed (or the counters restarted)
        if total <= 0:
            return 0.0
        return round(min(100.0 * busy / total, 100.0), 2)
