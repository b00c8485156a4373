"""Auto balancing: which Auto VMs to move off overloaded hosts, in one round. Pure: no I/O.

A host's load is the larger of two percentages:
- CPU: its measured CPU % (the last poll), where a VM accounts for
  cpu_pct x vcpus / host threads (how the host's figure is made up of its VMs');
- memory: the memory of its live VMs as a share of the memory available to VMs (the host's
  memory less its reserve, as in `placement.rooms`).
Memory is allocated, not measured, so a move's effect on it is exact; the CPU part is an
estimate from the VMs' last figures.

A host is overloaded when its load is above `threshold_pct`. Each round, hosts are taken most
loaded first; for each, greedily: of the running Auto VMs on it (never Failover or Pinned), the
one that brings it under the threshold with the least load moved (else the one that relieves
it most), to the least loaded host that has room (HostRoom.fits) and stays at or under the
threshold after the move, and that no VM leaves in the same round. A round makes at most
`max_total` moves and involves each host (as source or target, counting migrations already in
flight) at most `max_per_host` times; the next
round, after those moves, continues if needed. A target never crosses the threshold, so VMs
never bounce back and forth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from mvm_tui.core.maintenance import DEFAULT_LIMITS, Move
from mvm_tui.core.placement import HostRoom, Limits, rooms
from mvm_tui.models import ClusterSnapshot, Placement, PowerState, Vm


@dataclass(frozen=True)
class BalanceSettings:
    enabled: bool = False
    threshold_pct: float = 80.0
    max_total: int = 2  # moves per round (migrations in flight at once)
    max_per_host: int = 1  # moves per host per round, as source or target


@dataclass(frozen=True)
class HostLoad:
    """A host's load as balancing sees it, and how a move changes it."""

    room: HostRoom
    threads: int  # the host's CPU threads
    cpu_pct: float

    @property
    def name(self) -> str:
        return self.room.name

    @property
    def mem_pct(self) -> float:
        if self.room.memory_mb <= 0:
            return 100.0
        return 100.0 * self.room.memory_used_mb / self.room.memory_mb

    @property
    def pct(self) -> float:
        return max(self.cpu_pct, self.mem_pct)

    def vm_cpu(self, vm: Vm) -> float:
        """The share of this host's CPU the VM takes (or would take here), in %."""
        return vm.cpu_pct * vm.vcpus / self.threads if self.threads > 0 else 100.0

    def taking(self, vm: Vm) -> HostLoad:
        return replace(self, room=self.room.taking(vm), cpu_pct=self.cpu_pct + self.vm_cpu(vm))

    def without(self, vm: Vm) -> HostLoad:
        return replace(
            self, room=self.room.without(vm), cpu_pct=max(0.0, self.cpu_pct - self.vm_cpu(vm))
        )


def host_loads(snapshot: ClusterSnapshot, limits: Limits = DEFAULT_LIMITS) -> dict[str, HostLoad]:
    """The load of every host that can take VMs (reachable, known, not in maintenance)."""
    facts = {h.name: h for h in snapshot.hosts}
    out: dict[str, HostLoad] = {}
    for name, room in rooms(snapshot, limits).items():
        h = facts[name]
        threads = h.facts.vcpus if h.facts else 0
        out[name] = HostLoad(room, threads, h.metrics.cpu_pct if h.metrics else 0.0)
    return out


def loads_after(
    snapshot: ClusterSnapshot, moves: Iterable[Move], limits: Limits = DEFAULT_LIMITS
) -> dict[str, HostLoad]:
    """The hosts' loads once the (live) moves are done."""
    loads = host_loads(snapshot, limits)
    vms = {v.name: v for v in snapshot.vms}
    for m in moves:
        vm = vms[m.vm]
        if m.source in loads:
            loads[m.source] = loads[m.source].without(vm)
        if m.target in loads:
            loads[m.target] = loads[m.target].taking(vm)
    return loads


def plan_balance(
    snapshot: ClusterSnapshot,
    settings: BalanceSettings,
    limits: Limits = DEFAULT_LIMITS,
    in_flight: Sequence[Move] = (),
) -> list[Move]:
    """The live migrations of one balancing round (none when disabled or nothing is over)."""
    if not settings.enabled:
        return []
    loads = host_loads(snapshot, limits)
    threshold = settings.threshold_pct
    busy: Counter[str] = Counter()
    for m in in_flight:
        busy[m.source] += 1
        busy[m.target] += 1
    moving = {m.vm for m in in_flight}
    # a host VMs leave is never a target in the same round: if its outgoing migration failed,
    # the VM coming in would overcommit it
    sources = {m.source for m in in_flight}
    budget = settings.max_total - len(in_flight)
    moves: list[Move] = []
    order = sorted(loads.values(), key=lambda h: (-h.pct, h.name))
    for source in (h.name for h in order):
        while budget > 0 and loads[source].pct > threshold:
            if busy[source] >= settings.max_per_host:
                break
            best = _best_move(snapshot, source, loads, busy, moving, settings,
                              sources | {source})
            if best is None:
                break
            vm, target = best
            loads[source] = loads[source].without(vm)
            loads[target] = loads[target].taking(vm)
            busy[source] += 1
            busy[target] += 1
            moving.add(vm.name)
            sources.add(source)
            budget -= 1
            moves.append(Move(vm.name, source, target, live=True))
    return moves


def _best_move(
    snapshot: ClusterSnapshot,
    source: str,
    loads: dict[str, HostLoad],
    busy: Counter[str],
    moving: set[str],
    settings: BalanceSettings,
    sources: set[str],
) -> tuple[Vm, str] | None:
    threshold = settings.threshold_pct
    here = loads[source]
    options: list[tuple[tuple[float, float, str], Vm, str]] = []
    for vm in snapshot.vms:
        if (vm.host != source or vm.name in moving or vm.placement is not Placement.AUTO
                or vm.power is not PowerState.RUNNING):
            continue
        targets = [
            after for name, load in loads.items()
            if name not in sources and busy[name] < settings.max_per_host and load.room.fits(vm)
            and (after := load.taking(vm)).pct <= threshold
        ]
        if not targets:
            continue
        coolest = min(targets, key=lambda t: (t.pct, t.name))
        left = here.without(vm).pct
        relieved = here.pct - left
        if relieved <= 0:
            continue
        # under the threshold with the least moved first; else the biggest relief
        key = (0.0, relieved, vm.name) if left <= threshold else (1.0, -relieved, vm.name)
        options.append((key, vm, coolest.name))
    if not options:
        return None
    _, vm, target = min(options, key=lambda o: o[0])
    return vm, target
