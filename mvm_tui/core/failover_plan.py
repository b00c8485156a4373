"""Failover's vocabulary and its planning: settings, observations, decisions, where the VMs of
a lost host restart, and the failover drill. Pure: no I/O, no asyncio.

Every restart target comes from core.placement.assign, so a restart never fills a host beyond
its capacity.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from mvm_tui.core.placement import LIVE, Limits, assign, rooms
from mvm_tui.models import ClusterSnapshot, HostPoll, Placement, Vm

FailbackPolicy = Literal["on", "off", "ask"]


def timer_problem(check_interval: float, check_timeout: float, grace_period: float,
                  blocklist_expiry: float, prefix: str = "") -> str | None:
    """The first rule HA's timers break, or None: the one place these rules live (HaSettings
    and config.toml's [timers] both ask it). `prefix` is put before each name in the message:
    "ha_" names the config's keys."""
    interval, timeout = f"{prefix}check_interval", f"{prefix}check_timeout"
    grace, expiry = f"{prefix}grace_period", f"{prefix}blocklist_expiry"
    if min(check_interval, check_timeout, grace_period) <= 0:
        return f"{interval}, {timeout} and {grace} must be positive"
    if check_timeout >= check_interval:
        return (f"{timeout} ({check_timeout:g} s) must be below {interval} "
                f"({check_interval:g} s)")
    if blocklist_expiry <= grace_period:
        return (f"{expiry} ({blocklist_expiry:g} s) must be longer than {grace} "
                f"({grace_period:g} s)")
    if grace_period < check_interval:
        return f"{grace} ({grace_period:g} s) must be at least {interval} ({check_interval:g} s)"
    return None


@dataclass(frozen=True)
class HaSettings:
    """The timers and policies of automatic failover, in seconds."""

    check_interval: float = 5.0  # a liveness check of every host this often
    check_timeout: float = 4.0  # a check not answered within this failed
    grace_period: float = 30.0  # failed checks for this long: the host is lost
    blocklist_expiry: float = 3600.0  # longer than an outage can last; removed by hand/return
    failback: FailbackPolicy = "on"  # moved VMs go back when their host returns
    ipmi: bool = False  # also power lost hosts off through IPMI before restarting
    fence_retry: float = 30.0  # a failed fence is tried again this often
    limits: Limits = field(default_factory=Limits)
    priorities: Mapping[str, int] = field(default_factory=dict)  # VM -> restart priority

    def __post_init__(self) -> None:
        problem = timer_problem(self.check_interval, self.check_timeout, self.grace_period,
                                self.blocklist_expiry)
        if problem is not None:
            raise ValueError(problem)
        if self.failback not in ("on", "off", "ask"):
            raise ValueError(f"failback must be on, off or ask, not {self.failback!r}")

    def priority(self, vm: Vm) -> int:
        """The config's priority for it, else its own (set when it was made)."""
        return self.priorities.get(vm.name, vm.priority)


@dataclass(frozen=True)
class Observation:
    """One liveness check of one host: `ok` when SSH and libvirt answered (then `poll` is what
    it said); `osds_down` when known (HCI): whether all its Ceph OSDs are down."""

    host: str
    time: float  # when the result was known
    ok: bool
    poll: HostPoll | None = None
    osds_down: bool | None = None
    started: float | None = None  # when the check was sent (default: time)


class Kind(StrEnum):
    SUSPECT = "suspect"  # first failed check
    OK = "ok"  # answered again before it was lost
    HOLD = "hold"  # failed the grace period but its OSDs are up: not lost
    LOST = "lost"
    DOWN = "down"  # lost while in maintenance with nothing to recover: no fencing
    FENCE = "fence"  # blocklist its Ceph clients
    POWER_OFF = "power-off"  # IPMI power-off (optional)
    FENCE_FAILED = "fence-failed"
    ANSWERED = "answered"  # a host answered while its fence runs: decided when it ends
    FENCED = "fenced"  # that fence took effect all the same: its VMs restart elsewhere
    RESTART = "restart"
    RESTART_FAILED = "restart-failed"
    STAY_DOWN = "stay-down"
    RETURNED = "returned"
    UNFENCE = "unfence"
    FAILBACK = "failback"
    ASK_FAILBACK = "ask-failback"
    FAILBACK_FAILED = "failback-failed"
    KEEP_STOPPED = "keep-stopped"  # a returned host's pinned VM: started by hand
    STALE = "stale-copy"  # a returned host still has a VM restarted elsewhere: removed there
    SELF_FENCED = "self-fenced"  # it answers again, not lost, but its self-fence killed VMs


@dataclass(frozen=True)
class Decision:
    time: float
    kind: Kind
    host: str  # the host it is about (for a VM: the host it was lost on / returns to)
    vm: str | None = None
    target: str | None = None  # restart target or failback destination
    reason: str = ""  # short, for the log line
    detail: str = ""  # the long explanation, for the UI

    def line(self, t0: float = 0.0) -> str:
        """One log line with the time since t0: "34.0 fence h1", "34.0 restart db-01 on h2"."""
        return f"{self.time - t0:.1f} {self.text()}"

    def text(self) -> str:
        """What was decided, for an operator (no time: the event or log line has its own):
        "fence h1", "restart db-01 on h2", "stay-down x: pinned"."""
        if self.vm is None:
            text = f"{self.kind.value} {self.host}"
        elif self.kind is Kind.RESTART:
            text = f"restart {self.vm} on {self.target or 'no host'}"
        elif self.kind in (Kind.FAILBACK, Kind.ASK_FAILBACK):
            word = "ask failback" if self.kind is Kind.ASK_FAILBACK else "failback"
            text = f"{word} {self.vm} to {self.target or 'no host'}"
        else:
            text = f"{self.kind.value} {self.vm}"
        return f"{text}: {self.reason}" if self.reason else text


def restart_order(vms: Iterable[Vm], settings: HaSettings) -> list[Vm]:
    """Most important first: restart priority (higher first), then memory (larger first)."""
    return sorted(vms, key=lambda v: (-settings.priority(v), -v.memory_mb, v.name))


@dataclass(frozen=True)
class RestartPlan:
    restarts: tuple[tuple[str, str], ...]  # (VM, target) in restart order
    stay_down: tuple[tuple[str, str, str], ...]  # (VM, short reason, detail)
    not_running: tuple[str, ...]  # were not running: nothing to restart


def plan_restarts(
    snap: ClusterSnapshot, lost: str | Collection[str], settings: HaSettings,
    exclude: Iterable[str] = (),
) -> RestartPlan:
    """Where the VMs of `lost` (one host, or every host lost at once) restart: their running
    Auto and Failover VMs, most important first across all of them, each on the least full
    usable host with room (not lost, not `exclude`)."""
    gone = {lost} if isinstance(lost, str) else set(lost)
    mine = [v for v in snap.vms if v.host in gone]
    live = [v for v in mine if v.power in LIVE]
    stay: list[tuple[str, str, str]] = [
        (v.name, "pinned",
         f"{v.name} is pinned to {v.host}: it stays stopped until {v.host} is back")
        for v in sorted(live, key=lambda v: v.name)
        if v.placement is Placement.PINNED
    ]
    movable = restart_order((v for v in live if v.placement is not Placement.PINNED), settings)
    room = rooms(snap, settings.limits, exclude={*gone, *exclude})
    done = assign(movable, room)
    restarts = tuple((v.name, done.placed[v.name]) for v in movable if v.name in done.placed)
    stay += [(v.name, "no room", done.unplaced[v.name]) for v in movable
             if v.name in done.unplaced]
    not_running = tuple(sorted(v.name for v in mine if v.power not in LIVE))
    return RestartPlan(restarts, tuple(stay), not_running)


@dataclass(frozen=True)
class DrillReport:
    """What would happen if `host` were lost now; nothing is touched."""

    host: str
    restarts: tuple[tuple[str, str], ...]  # (VM, target)
    stay_down: tuple[tuple[str, str], ...]  # (VM, why)
    not_running: tuple[str, ...]
    capacity_ok: bool  # every Auto and Failover VM that runs there finds room

    def lines(self) -> list[str]:
        out = [f"if {self.host} is lost now:"]
        out += [f"  {vm} restarts on {target}" for vm, target in self.restarts]
        out += [f"  {vm} stays down: {why}" for vm, why in self.stay_down]
        out += [f"  {vm} is not running: nothing to do" for vm in self.not_running]
        out.append("  capacity suffices" if self.capacity_ok else "  capacity does NOT suffice")
        return out
