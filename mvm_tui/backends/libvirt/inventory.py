"""A host's facts, its load and its VMs, read over its libvirt connection.

The functions here are blocking: they run on the host's worker thread
(LibvirtHost.run(lambda conn: collect(conn, ...))). One poll costs getInfo,
getLibVersion, getAllDomainStats, getCPUStats, getMemoryStats and an XMLDesc per domain
whose XML is not in the poll's DomainCache (new, changed, or read long ago: domcache.py),
plus blockInfo for disks whose size is not known yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.libvirt.domcache import DomainCache
from mvm_tui.backends.libvirt.domxml import DomainXml, parse_domain
from mvm_tui.backends.libvirt.handles import changes_of
from mvm_tui.backends.libvirt.stats import (
    DOMAIN_STATS,
    KIB,
    StatsTracker,
    VmLoad,
    disk_capacities,
)
from mvm_tui.models import Disk, HostFacts, HostMetrics, HostPoll, PowerState, Vm

GIB = 1024**3

_POWER = {
    libvirt.VIR_DOMAIN_NOSTATE: PowerState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: PowerState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.RUNNING,  # running, waiting on I/O
    libvirt.VIR_DOMAIN_PAUSED: PowerState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.SHUTTING_DOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.PAUSED,
}
_ACTIVE = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTTING_DOWN)
_IDLE = VmLoad()


def power_state(state: int) -> PowerState:
    """libvirt's domain state (dom.state()[0], "state.state") as the application's."""
    return _POWER.get(state, PowerState.UNKNOWN)


def version_string(version: int) -> str:
    """9000000 -> "9.0.0" (libvirt's major * 1,000,000 + minor * 1,000 + release)."""
    return f"{version // 1_000_000}.{version // 1000 % 1000}.{version % 1000}"


@dataclass(frozen=True)
class NodeFacts:
    hostname: str  # what the host calls itself (conn.getHostname())
    cpu_model: str  # e.g. "x86_64"
    facts: HostFacts


def _host_facts(conn: Any) -> tuple[str, HostFacts]:
    """getInfo: [model, memory MiB, cpus, MHz, NUMA nodes, sockets, cores, threads]."""
    info = conn.getInfo()
    facts = HostFacts(
        vcpus=int(info[2]),
        memory_mb=int(info[1]),
        libvirt_version=version_string(int(conn.getLibVersion())),
    )
    return str(info[0]), facts


def read_facts(conn: Any) -> NodeFacts:
    model, facts = _host_facts(conn)
    return NodeFacts(hostname=str(conn.getHostname()), cpu_model=model, facts=facts)


def _disk_capacity(dom: Any, target: str) -> int:
    try:
        return int(dom.blockInfo(target, 0)[0])
    except libvirt.libvirtError:
        return 0  # no medium, or a source the host cannot size (e.g. RBD of a stopped VM)


def _disk_sizes(dom: Any, spec: DomainXml, rec: dict[str, Any],
                caps: dict[tuple[str, str], int], active: bool = True) -> tuple[int, ...]:
    for target, cap in disk_capacities(rec).items():
        caps[(spec.uuid, target)] = cap
    sizes: list[int] = []
    for d in spec.disks:
        key = (spec.uuid, d.target)
        # not an RBD disk of a VM that is not running: libvirt sizes it only through its RBD
        # storage backend, which hosts often lack (an error, a round trip per disk and poll)
        if key not in caps and d.source and (active or not d.source.startswith("rbd:")):
            caps[key] = _disk_capacity(dom, d.target)
        sizes.append(caps.get(key, 0))
    return tuple(sizes)


def domain_vm(
    dom: Any,
    spec: DomainXml,
    rec: dict[str, Any],
    host: str,
    tracker: StatsTracker,
    t: float,
    *,
    record: bool = True,
    kept: DomainCache | None = None,
) -> Vm:
    """One domain, its parsed XML and its stats record from getAllDomainStats, as a Vm: the
    one `kept` has from an earlier poll when it would be the same."""
    state = rec.get("state.state")
    power = power_state(int(state) if isinstance(state, int) else int(dom.state()[0]))
    if power in _ACTIVE:
        load = tracker.vm_load(spec.uuid, t, rec, spec.vcpus, record=record,
                               allocated_mb=spec.current_memory_mb)
    else:
        load = _IDLE
        if record:
            tracker.forget(spec.uuid)
    sizes = _disk_sizes(dom, spec, rec, tracker.capacities, power in _ACTIVE)
    parts = (spec, power, load, sizes)
    vm = kept.known_vm(spec.uuid, parts) if kept is not None else None
    if vm is not None:
        return vm
    vm = Vm(
        name=spec.name,
        uuid=spec.uuid,
        host=host,
        power=power,
        placement=spec.placement,
        home_host=spec.home_host,
        priority=spec.priority,
        vcpus=spec.vcpus,
        memory_mb=spec.memory_mb,
        cpu_pct=load.cpu_pct,
        mem_used_mb=load.mem_used_mb,
        mem_source=load.mem_source,
        disk_rd_bps=load.disk_rd_bps,
        disk_wr_bps=load.disk_wr_bps,
        net_rx_bps=load.net_rx_bps,
        net_tx_bps=load.net_tx_bps,
        disks=tuple(Disk(target=d.target, source=d.source, size_gb=round(size / GIB, 2),
                         bus=d.bus) for d, size in zip(spec.disks, sizes, strict=True)),
        nics=spec.nics,
        graphics=spec.graphics,
    )
    if kept is not None:
        kept.keep_vm(spec.uuid, parts, vm)
    return vm


def _node_mem_used_mb(conn: Any) -> int | None:
    """Used memory of the node (total - free - buffers - cached), None if not reported."""
    try:
        mem = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    except libvirt.libvirtError:
        return None  # e.g. the test driver
    total = int(mem.get("total", 0))
    if total <= 0:
        return None
    free = sum(int(mem.get(k, 0)) for k in ("free", "buffers", "cached"))
    return max(total - free, 0) // KIB


def _node_cpu_pct(conn: Any, tracker: StatsTracker) -> float:
    try:
        stats = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS, 0)
    except libvirt.libvirtError:
        return 0.0
    return tracker.host_cpu_pct(stats)


def collect(conn: Any, host: str, tracker: StatsTracker, now: float, t: float,
            domains: DomainCache | None = None) -> HostPoll:
    """A whole poll of one host. `now` is the wall-clock time stamped on the metrics, `t` a
    monotonic time for the rates (the interval since this tracker's previous poll) and the
    age of the XML in `domains` (without it, every domain's XML is read)."""
    facts = _host_facts(conn)[1]  # (not the host's name: one round trip less)
    cache = domains if domains is not None else DomainCache()
    cache.sync(changes_of(conn) if domains is not None else None)
    vms: list[Vm] = []
    for dom, rec in conn.getAllDomainStats(DOMAIN_STATS, 0):
        try:
            spec = cache.spec(dom, str(dom.UUIDString()), rec, t)
            vms.append(domain_vm(dom, spec, rec, host, tracker, t, kept=domains))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise  # a domain undefined since the stats were taken is simply gone
    cache.keep_only(v.uuid for v in vms)
    live = [v for v in vms if v.power in _ACTIVE]
    tracker.keep_only(v.uuid for v in live)
    tracker.keep_capacities(v.uuid for v in vms)
    mem = _node_mem_used_mb(conn)
    if mem is None:
        mem = sum(v.mem_used_mb for v in live)
    # the host's network and disk load are its own counters, not its VMs' sums: libvirt does
    # not give them (RealBackend reads them over SSH, backends/host_counters.py)
    metrics = HostMetrics(
        time=now, cpu_pct=_node_cpu_pct(conn, tracker), mem_used_mb=min(mem, facts.memory_mb))
    return HostPoll(facts=facts, metrics=metrics, vms=tuple(vms))


def read_vm(conn: Any, name: str, host: str, tracker: StatsTracker, t: float) -> Vm:
    """One VM by name, fresh. Raises libvirt's VIR_ERR_NO_DOMAIN when it is not there. Its
    rates are against the last poll's sample, which it does not replace."""
    dom = conn.lookupByName(name)
    records = conn.domainListGetStats([dom], DOMAIN_STATS, 0)
    rec: dict[str, Any] = dict(records[0][1]) if records else {}
    spec = parse_domain(str(dom.XMLDesc(0)))
    return domain_vm(dom, spec, rec, host, tracker, t, record=False)
