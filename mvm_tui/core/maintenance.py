"""Maintenance mode: what happens to each VM of a host before it is serviced, which VMs come
back when it leaves maintenance, and how many migrations may run at once. Pure: no I/O.

Every target is chosen by `placement.assign`, so no host is filled beyond capacity.

Decisions, per VM on the host being evacuated:
- running, Auto or Failover: live-migrate to the least loaded other usable host with room
  (the biggest VMs are placed first, so they still find room);
- running, Pinned, or no host has room for it: blocked; entry is refused until the operator
  opens its placement or powers it off (both offered as remedies);
- paused or shutting down: blocked (a migration needs it running; a shutdown will end);
- powered off (shut off, crashed), Auto or Failover: cold-moved (defined on another host, still
  off) to a host that could start it, so it is not stranded on a host in maintenance;
- powered off and Pinned: stays. Pinned means "never moved"; powered off it keeps nothing busy,
  it is back where it belongs when the host returns, and moving it would silently break the pin.
  The same holds for a powered-off VM no other host could start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mvm_tui.core.placement import LIVE, USABLE, Limits, assign, rooms
from mvm_tui.models import ClusterSnapshot, HostState, Placement, PowerState, Vm

DEFAULT_LIMITS = Limits()


class Remedy(StrEnum):
    """What the operator can do about a VM that blocks maintenance."""

    OPEN_PLACEMENT = "open placement"
    POWER_OFF = "power off"


@dataclass(frozen=True)
class Move:
    """One VM going from one host to another: live (a migration) or cold (powered off)."""

    vm: str
    source: str
    target: str
    live: bool = True


@dataclass(frozen=True)
class LiveMigrate:
    vm: Vm
    target: str
    reason: str

    @property
    def move(self) -> Move:
        return Move(self.vm.name, self.vm.host or "", self.target, live=True)


@dataclass(frozen=True)
class ColdMove:
    vm: Vm
    target: str
    reason: str

    @property
    def move(self) -> Move:
        return Move(self.vm.name, self.vm.host or "", self.target, live=False)


@dataclass(frozen=True)
class Stay:
    """A VM that stays where it is (powered off), and why."""

    vm: Vm
    reason: str


@dataclass(frozen=True)
class Blocked:
    """A live VM that cannot leave the host: maintenance is refused while it is there."""

    vm: Vm
    reason: str
    remedies: tuple[Remedy, ...]


Action = LiveMigrate | ColdMove | Stay | Blocked


@dataclass(frozen=True)
class EvacuationPlan:
    host: str
    actions: tuple[Action, ...]  # one per VM on the host, in the snapshot's order
    refusal: str | None = None  # why the host itself cannot enter maintenance now

    @property
    def live(self) -> tuple[LiveMigrate, ...]:
        return tuple(a for a in self.actions if isinstance(a, LiveMigrate))

    @property
    def cold(self) -> tuple[ColdMove, ...]:
        return tuple(a for a in self.actions if isinstance(a, ColdMove))

    @property
    def stays(self) -> tuple[Stay, ...]:
        return tuple(a for a in self.actions if isinstance(a, Stay))

    @property
    def blocked(self) -> tuple[Blocked, ...]:
        return tuple(a for a in self.actions if isinstance(a, Blocked))

    @property
    def moves(self) -> tuple[Move, ...]:
        """Live migrations, then cold moves."""
        return tuple(a.move for a in self.live) + tuple(a.move for a in self.cold)

    @property
    def can_enter(self) -> bool:
        return self.refusal is None and not self.blocked


def _biggest_first(vms: Iterable[Vm]) -> list[Vm]:
    return sorted(vms, key=lambda v: (-v.memory_mb, -v.vcpus, v.name))


def _host_refusal(snapshot: ClusterSnapshot, host: str) -> str | None:
    for h in snapshot.hosts:
        if h.name == host:
            if h.state in USABLE or h.state is HostState.MAINTENANCE:
                return None
            return f"{host} is {h.state.value}: its VMs cannot be moved now"
    raise ValueError(f"no host named {host!r} in cluster {snapshot.name}")


def plan_evacuation(
    snapshot: ClusterSnapshot, host: str, limits: Limits = DEFAULT_LIMITS
) -> EvacuationPlan:
    """What entering maintenance on `host` would do to each of its VMs, and why."""
    refusal = _host_refusal(snapshot, host)
    vms = [v for v in snapshot.vms if v.host == host]
    decided: dict[str, Action] = {}
    movable: list[Vm] = []
    for vm in vms:
        if vm.power is PowerState.RUNNING:
            if vm.placement is Placement.PINNED:
                decided[vm.name] = Blocked(
                    vm, f"pinned to {host}", (Remedy.OPEN_PLACEMENT, Remedy.POWER_OFF)
                )
            else:
                movable.append(vm)
        elif vm.power is PowerState.PAUSED:
            decided[vm.name] = Blocked(
                vm, "paused: only a running VM can be live-migrated", (Remedy.POWER_OFF,)
            )
        elif vm.power is PowerState.SHUTTING_DOWN:
            decided[vm.name] = Blocked(
                vm, "shutting down: wait until it is off", (Remedy.POWER_OFF,)
            )
        elif vm.power is PowerState.UNKNOWN:
            decided[vm.name] = Blocked(vm, "its state is unknown", (Remedy.POWER_OFF,))
        elif vm.placement is Placement.PINNED:
            decided[vm.name] = Stay(
                vm, f"pinned to {host} and powered off: stays; start it only once {host} "
                "has left maintenance",
            )
    targets = rooms(snapshot, limits, exclude=[host])
    live = assign(_biggest_first(movable), targets)
    for vm in movable:
        if vm.name in live.placed:
            decided[vm.name] = LiveMigrate(
                vm, live.placed[vm.name],
                f"{vm.placement.value}, running: least loaded host with room",
            )
        else:
            decided[vm.name] = Blocked(
                vm, live.unplaced[vm.name], (Remedy.POWER_OFF, Remedy.OPEN_PLACEMENT)
            )
    # Powered-off VMs go where they could be started, counting the live ones moved before.
    off = [v for v in vms if v.name not in decided]
    cold = assign(_biggest_first(off), live.rooms)
    for vm in off:
        if vm.name in cold.placed:
            decided[vm.name] = ColdMove(
                vm, cold.placed[vm.name],
                f"{vm.placement.value}, {vm.power.value}: moved so it is not stranded on "
                "a host in maintenance",
            )
        else:
            decided[vm.name] = Stay(
                vm, f"{vm.power.value}, and {cold.unplaced[vm.name]}: stays on {host}"
            )
    return EvacuationPlan(host, tuple(decided[v.name] for v in vms), refusal)


@dataclass(frozen=True)
class ReturnPlan:
    """Which VMs that left a host in maintenance can come back to it."""

    host: str
    moves: tuple[LiveMigrate | ColdMove, ...]
    stays: tuple[Stay, ...]  # VMs that left and stay where they are now, with why
    missing: tuple[str, ...] = ()  # VMs that left and no longer exist

    @property
    def vms(self) -> tuple[str, ...]:
        return tuple(m.vm.name for m in self.moves)


def plan_return(
    snapshot: ClusterSnapshot, host: str, moved_vms: Iterable[str], limits: Limits = DEFAULT_LIMITS
) -> ReturnPlan:
    """Which of `moved_vms` (those the evacuation moved away) can come back to `host` when it
    leaves maintenance: running ones by live migration, powered-off ones by a cold move, each
    only if the host has room for it (counted as if the host were back in the pool)."""
    by_name = {v.name: v for v in snapshot.vms}
    names = list(dict.fromkeys(moved_vms))
    missing = tuple(n for n in names if n not in by_name)
    candidates = [by_name[n] for n in names if n in by_name and by_name[n].host != host]
    refusal = _host_refusal(snapshot, host)
    back_in_pool = snapshot.model_copy(update={"hosts": tuple(
        h.model_copy(update={"state": HostState.ONLINE})
        if h.name == host and h.state is HostState.MAINTENANCE else h
        for h in snapshot.hosts
    )})
    room = {name: r for name, r in rooms(back_in_pool, limits).items() if name == host}
    if refusal is None and host not in room:
        refusal = f"{host} cannot take VMs (its facts are not known yet)"
    stays: dict[str, Stay] = {}
    running: list[Vm] = []
    off: list[Vm] = []
    for vm in candidates:
        if refusal is not None:
            stays[vm.name] = Stay(vm, refusal)
        elif vm.placement is Placement.PINNED:
            stays[vm.name] = Stay(vm, f"pinned to {vm.host} now")
        elif vm.power is PowerState.RUNNING:
            running.append(vm)
        elif vm.power in LIVE or vm.power is PowerState.UNKNOWN:
            stays[vm.name] = Stay(vm, f"{vm.power.value}: only a running VM can be migrated")
        else:
            off.append(vm)
    live = assign(_biggest_first(running), room)
    cold = assign(_biggest_first(off), live.rooms)
    moves: dict[str, LiveMigrate | ColdMove] = {}
    for vm in running:
        if vm.name in live.placed:
            moves[vm.name] = LiveMigrate(vm, host, "it left for the maintenance")
        else:
            stays[vm.name] = Stay(vm, live.unplaced[vm.name])
    for vm in off:
        if vm.name in cold.placed:
            moves[vm.name] = ColdMove(vm, host, "it left for the maintenance")
        else:
            stays[vm.name] = Stay(vm, cold.unplaced[vm.name])
    return ReturnPlan(
        host,
        tuple(moves[v.name] for v in candidates if v.name in moves),
        tuple(stays[v.name] for v in candidates if v.name in stays),
        missing,
    )


# -- how many at once ------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrationLimits:
    """How many migrations may be in flight: in all, and per host (as source or target)."""

    max_total: int = 4
    max_per_host: int = 2

    def __post_init__(self) -> None:
        if self.max_total < 1 or self.max_per_host < 1:
            raise ValueError("migration limits must be at least 1")


def startable(
    pending: Sequence[Move], running: Iterable[Move], limits: MigrationLimits
) -> list[Move]:
    """The pending moves (taken in order, skipping those whose hosts are busy) that may start
    now beside the running ones: never more than max_total in flight, nor more than
    max_per_host involving one host, counting a move on both its source and its target."""
    busy: Counter[str] = Counter()
    total = 0
    for m in running:
        busy[m.source] += 1
        busy[m.target] += 1
        total += 1
    out: list[Move] = []
    for m in pending:
        if total >= limits.max_total:
            break
        need = Counter([m.source, m.target])
        if all(busy[h] + n <= limits.max_per_host for h, n in need.items()):
            out.append(m)
            busy.update(need)
            total += 1
    return out


def schedule(moves: Sequence[Move], limits: MigrationLimits) -> list[list[Move]]:
    """The moves in waves: each wave runs at once within the limits, the next when it ends.
    (The service does better: it starts a move as soon as one ends, with `startable`.)"""
    pending = list(moves)
    waves: list[list[Move]] = []
    while pending:
        wave = startable(pending, (), limits)
        if not wave:
            raise ValueError(f"{pending[0].vm} can never start within {limits}")
        waves.append(wave)
        for m in wave:
            pending.remove(m)
    return waves
