"""Loads from libvirt's cumulative counters: rates are deltas between two polls.

libvirt reports CPU time, bytes read/written and received/sent as totals since the domain (or
the node) started. A rate needs the previous sample of the same domain, so the first poll of a
domain gives 0 rates; a counter that went backwards (the domain restarted) gives 0 too and
starts over. Memory is a level, not a rate: it is right from the first poll.

A VM's memory in use is the guest's own figure, from its balloon driver's statistics
(getAllDomainStats' balloon.* = dom.memoryStats(): "available" is the memory the guest sees,
"usable" what it could still use without swapping, so in use = available - usable; a guest
too old to report "usable" gives available - "unused", its page cache counted as used). A
guest without a balloon driver (or with no <memballoon>, or before its driver reported) has
no such figure: then the memory it was given is shown (balloon.current, "actual", else the
domain's current memory), marked MemSource.ALLOCATED. The QEMU process' resident size is
never shown as the guest's: it counts QEMU's own memory and not the guest's free pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import libvirt  # type: ignore[import-untyped]

from mvm_tui.models import MemSource

# What getAllDomainStats is asked for.
DOMAIN_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
    | libvirt.VIR_DOMAIN_STATS_BLOCK
)
KIB = 1024


class VmLoad(NamedTuple):  # (NamedTuples: made for every domain at every poll, cheaply)
    cpu_pct: float = 0.0  # of the domain's own vCPUs
    mem_used_mb: int = 0
    mem_source: MemSource = MemSource.ALLOCATED
    disk_rd_bps: float = 0.0
    disk_wr_bps: float = 0.0
    net_rx_bps: float = 0.0
    net_tx_bps: float = 0.0


class _Counters(NamedTuple):
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
    count = _num(rec, f"{kind}.count")
    return sum(_num(rec, f"{kind}.{i}.{field}") for i in range(count)) if count else 0


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


def guest_memory(rec: Mapping[str, Any]) -> tuple[int, MemSource]:
    """The VM's memory in use in MiB and where it comes from (see the module's doc): the
    guest's when its balloon driver reports it, else the balloon's size (0 when not known,
    e.g. a domain that is not running or has no balloon device)."""
    available = _num(rec, "balloon.available")
    for free in ("balloon.usable", "balloon.unused"):
        if available and free in rec:
            return max(available - _num(rec, free), 0) // KIB, MemSource.GUEST
    return _num(rec, "balloon.current") // KIB, MemSource.ALLOCATED


def mem_used_mb(rec: Mapping[str, Any]) -> int:
    """guest_memory's MiB alone."""
    return guest_memory(rec)[0]


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
        self, key: str, t: float, rec: Mapping[str, Any], vcpus: int, *, record: bool = True,
        allocated_mb: int = 0,
    ) -> VmLoad:
        """The load of one domain from its stats record at monotonic time t; its memory in
        use is `allocated_mb` when the record has no figure at all. With record=False the
        sample is not kept (a one-off look must not shorten the next poll's interval)."""
        cur = counters(t, rec)
        prev = self._vms.get(key)
        if record:
            self._vms[key] = cur
        mem, source = guest_memory(rec)
        if mem == 0:  # no balloon at all: count what it was given
            mem, source = allocated_mb, MemSource.ALLOCATED
        if prev is None or cur.t <= prev.t:
            return VmLoad(mem_used_mb=mem, mem_source=source)
        dt = cur.t - prev.t
        cpu = 0.0
        if cur.cpu_ns is not None and prev.cpu_ns is not None and cur.cpu_ns >= prev.cpu_ns:
            cpu = 100.0 * (cur.cpu_ns - prev.cpu_ns) / (dt * 1e9 * max(vcpus, 1))
        return VmLoad(
            cpu_pct=round(min(cpu, 100.0), 2),
            mem_used_mb=mem,
            mem_source=source,
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
