"""Where VMs can go: each host's room, and VMs assigned to the least loaded hosts that can
take them without overcommitting memory or vCPUs. Pure: no I/O.

Every later decision that moves or restarts VMs (placement, auto balancing, maintenance
evacuation, failover) goes through `assign`, so "no host is filled beyond capacity" holds in
one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from mvm_tui.models import ClusterSnapshot, HostPoll, HostState, PowerState, Vm
from mvm_tui.units import count

LIVE = frozenset({PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTTING_DOWN})
USABLE = frozenset({HostState.ONLINE, HostState.SLOW})


@dataclass(frozen=True)
class Limits:
    """How full a host may get."""

    host_reserve_mb: int = 1536  # memory kept for the host itself (kernel, libvirt, Ceph)
    cpu_overcommit: float = 4.0  # vCPUs of live VMs per host thread


@dataclass(frozen=True)
class HostRoom:
    """What a host has and what its live VMs already take."""

    name: str
    memory_mb: int  # for VMs: the host's memory less its reserve
    vcpus: float  # for VMs: threads x overcommit
    memory_used_mb: int = 0
    vcpus_used: int = 0
    load_pct: float = 0.0  # its CPU load now

    def fits(self, vm: Vm) -> bool:
        return (self.memory_used_mb + vm.memory_mb <= self.memory_mb
                and self.vcpus_used + vm.vcpus <= self.vcpus)

    def taking(self, vm: Vm) -> HostRoom:
        return replace(self, memory_used_mb=self.memory_used_mb + vm.memory_mb,
                       vcpus_used=self.vcpus_used + vm.vcpus)

    def without(self, vm: Vm) -> HostRoom:
        return replace(self, memory_used_mb=self.memory_used_mb - vm.memory_mb,
                       vcpus_used=self.vcpus_used - vm.vcpus)

    @property
    def fill(self) -> float:
        """How full it is, 0-1: the larger of memory and vCPU shares, nudged by CPU load."""
        mem = self.memory_used_mb / self.memory_mb if self.memory_mb > 0 else 1.0
        cpu = self.vcpus_used / self.vcpus if self.vcpus > 0 else 1.0
        return max(mem, cpu) + self.load_pct / 1000.0


def rooms(
    snap: ClusterSnapshot,
    limits: Limits = Limits(),
    exclude: Iterable[str] = (),
) -> dict[str, HostRoom]:
    """The room of every host that can take VMs now: reachable, known, not in maintenance
    and not excluded (a host being evacuated or lost)."""
    excluded = set(exclude)
    out: dict[str, HostRoom] = {}
    for h in snap.hosts:
        if h.state not in USABLE or h.facts is None or h.name in excluded:
            continue
        room = HostRoom(
            name=h.name,
            memory_mb=h.facts.memory_mb - limits.host_reserve_mb,
            vcpus=h.facts.vcpus * limits.cpu_overcommit,
            load_pct=h.metrics.cpu_pct if h.metrics else 0.0,
        )
        for vm in snap.vms:
            if vm.host == h.name and vm.power in LIVE:
                room = room.taking(vm)
        out[h.name] = room
    return out


@dataclass(frozen=True)
class Assignment:
    placed: Mapping[str, str]  # VM -> host
    unplaced: Mapping[str, str]  # VM -> why not
    rooms: Mapping[str, HostRoom]  # the rooms once the placed VMs are in


def assign(vms: Sequence[Vm], room_by_host: Mapping[str, HostRoom]) -> Assignment:
    """Place the VMs in the order given (put the most important first) each on the least
    full host that can take it, counting the VMs placed before it."""
    free = dict(room_by_host)
    placed: dict[str, str] = {}
    unplaced: dict[str, str] = {}
    for vm in vms:
        candidates = [r for r in free.values() if r.name != vm.host and r.fits(vm)]
        if not candidates:
            unplaced[vm.name] = _why_not(vm, free.values())
            continue
        best = min(candidates, key=lambda r: (r.taking(vm).fill, r.name))
        placed[vm.name] = best.name
        free[best.name] = best.taking(vm)
    return Assignment(placed, unplaced, free)


def _why_not(vm: Vm, candidates: Iterable[HostRoom]) -> str:
    others = [r for r in candidates if r.name != vm.host]
    if not others:
        return "no other host can take VMs"
    most = max(r.memory_mb - r.memory_used_mb for r in others)
    return (f"no host has room for {vm.memory_mb} MB and {count(vm.vcpus, 'vCPU')} "
            f"(most free memory on one host: {max(most, 0)} MB)")


def room_left(poll: HostPoll, host: str, size: tuple[int, int],
              limits: Limits = Limits()) -> str:
    """"" when a VM of `size` (memory MB, vCPUs) fits on the host as this fresh check sees it
    (its live VMs, incoming migrations among them), else why not."""
    live = [v for v in poll.vms if v.power in LIVE]
    mem = poll.facts.memory_mb - limits.host_reserve_mb - sum(v.memory_mb for v in live)
    cpus = poll.facts.vcpus * limits.cpu_overcommit - sum(v.vcpus for v in live)
    if size[0] > mem:
        return f"{host} has {max(mem, 0)} MB free for VMs now, {size[0]} MB are needed"
    if size[1] > cpus:
        return f"{host} has {count(max(cpus, 0), 'vCPU')} free now, {size[1]} needed"
    return ""
