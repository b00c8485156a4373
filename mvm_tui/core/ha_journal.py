"""What HA's decisions and their outcomes mean to an operator: the HA state of every VM HA
should run and does not (recovering, down and why, stopped by policy), one incident timeline
per host loss (suspect, lost, fenced, each restart, back, unfenced, failback) with how long
each VM was down, and the notices worth interrupting someone for (a fence, a restart that
failed, VMs left down). Fed by the HA service; pure: no I/O, no asyncio.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from mvm_tui.core.failover_plan import Decision, Kind
from mvm_tui.models import Placement, Vm

MAX_INCIDENTS = 20


class VmHa(StrEnum):
    RECOVERING = "recovering"
    NOT_FENCED = "down: host not fenced"
    NO_ROOM = "down: no room"
    RESTART_FAILED = "down: restart failed"
    SELF_FENCED = "down: self-fenced"  # its host's self-fence still kills what runs there
    BY_POLICY = "stopped by policy"


@dataclass(frozen=True)
class VmHaState:
    vm: str
    state: VmHa
    host: str  # the lost host it ran on
    since: float  # down since (its host's first failed check)
    reason: str = ""

    def line(self) -> str:
        return f"{self.vm} {self.state.value}" + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True)
class Notice:
    level: Literal["warning", "error"]
    event: str  # fenced, fence-failed, restart-failed, left-down, unfence-failed
    host: str
    vm: str | None
    message: str


@dataclass
class Incident:
    """One host loss, from its first failed check to its return with every VM up."""

    host: str
    start: float
    entries: list[tuple[float, str]] = field(default_factory=list)
    lost: bool = False  # declared lost (else a suspicion that may still pass)
    fenced: bool = False  # fenced and not unfenced yet
    back: bool = False
    end: float | None = None
    downtime: dict[str, float] = field(default_factory=dict)  # VM -> seconds down, once up

    def add(self, time: float, text: str) -> None:
        self.entries.append((time, text))

    def lines(self) -> list[str]:
        return [f"+{max(t - self.start, 0):.0f} s  {text}" for t, text in self.entries]


AFTER_RETURN = frozenset({Kind.RETURNED, Kind.STALE, Kind.UNFENCE, Kind.RESTART,
                          Kind.RESTART_FAILED, Kind.FAILBACK, Kind.ASK_FAILBACK,
                          Kind.FAILBACK_FAILED, Kind.KEEP_STOPPED})
VM_KINDS = frozenset({Kind.RESTART, Kind.RESTART_FAILED, Kind.STAY_DOWN,
                      Kind.KEEP_STOPPED})  # decisions on one VM (d.vm)


class HaJournal:
    def __init__(self, max_incidents: int = MAX_INCIDENTS) -> None:
        self._states: dict[str, VmHaState] = {}
        self._incidents: deque[Incident] = deque(maxlen=max_incidents)

    # -- reading

    def vm_states(self) -> dict[str, VmHaState]:
        return dict(self._states)

    def incidents(self) -> list[Incident]:
        """Newest first."""
        return list(reversed(self._incidents))

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents() if i.lost and i.end is None]

    # -- input

    def decided(self, d: Decision, live_on_host: Iterable[Vm] = ()) -> list[Notice]:
        """A decision of the engine; `live_on_host`: the VMs running on d.host as last seen
        (asked for LOST decisions)."""
        k, t = d.kind, d.time
        if k is Kind.SUSPECT:
            if self._current(d.host) is None:
                self._incidents.append(Incident(d.host, t, [(t, "suspect: a check failed")]))
            return []
        inc = self._current(d.host)
        if inc is None and k in AFTER_RETURN:  # what follows its return: the same incident
            inc = self._latest(d.host)
        if k is Kind.OK:
            if inc is not None and not inc.lost:
                self._incidents.remove(inc)  # a passing suspicion is no incident
            elif inc is not None:
                inc.add(t, "answered again")
            return []
        if inc is None:
            inc = Incident(d.host, t)
            self._incidents.append(inc)
        inc.add(t, _text(d))
        if k in VM_KINDS:
            return [] if d.vm is None else self._vm_decided(d, d.vm, inc)
        return self._host_decided(d, inc, live_on_host)

    def _host_decided(self, d: Decision, inc: Incident,
                      live_on_host: Iterable[Vm]) -> list[Notice]:
        k, t = d.kind, d.time
        if k is Kind.LOST:
            inc.lost = True
            for vm in live_on_host:
                pinned = vm.placement is Placement.PINNED
                self._set(vm.name, VmHa.BY_POLICY if pinned else VmHa.RECOVERING, d.host,
                          inc.start, f"pinned to {d.host}" if pinned
                          else f"{d.host} is lost: restarted once it is fenced")
        elif k is Kind.FENCE_FAILED:
            for s in self._of(d.host, VmHa.RECOVERING):
                self._set(s.vm, VmHa.NOT_FENCED, s.host, s.since, d.reason)
            return [Notice("error", "fence-failed", d.host, None,
                           f"the fence of {d.host} failed: {d.reason}; nothing of it is "
                           "restarted until it is fenced")]
        elif k is Kind.SELF_FENCED:  # its VMs died: an incident, though it was never lost
            inc.lost = inc.back = True
            if d.target is None:  # old news: nothing restarts, nothing to wait for
                self._close_if_over(inc, t)
        elif k in (Kind.RETURNED, Kind.DOWN):
            inc.back = k is Kind.RETURNED
            self._close_if_over(inc, t)
        return []

    def _vm_decided(self, d: Decision, vm: str, inc: Incident) -> list[Notice]:
        since = self._since(vm, inc)
        if d.kind is Kind.RESTART:
            self._set(vm, VmHa.RECOVERING, d.host, since, f"restarting on {d.target}")
        elif d.kind is Kind.RESTART_FAILED:
            self._set(vm, VmHa.RESTART_FAILED, d.host, since, d.reason)
            return [Notice("error", "restart-failed", d.host, vm,
                           f"{vm} could not be restarted: {d.reason}")]
        elif d.kind is Kind.STAY_DOWN:
            state = {"pinned": VmHa.BY_POLICY, "self-fenced": VmHa.SELF_FENCED}.get(
                d.reason, VmHa.NO_ROOM)
            pinned = state is VmHa.BY_POLICY
            self._set(vm, state, d.host, since, d.detail or d.reason)
            return [Notice("warning" if pinned else "error", "left-down", d.host, vm,
                           f"{vm} stays down: {d.detail or d.reason}")]
        elif d.kind is Kind.KEEP_STOPPED:
            self._set(vm, VmHa.BY_POLICY, d.host, since, d.reason)
        return []

    def fenced(self, host: str, time: float, how: str) -> list[Notice]:
        """A fence run of the host ended and the host is fenced."""
        inc = self._current(host)
        if inc is not None:
            inc.fenced = True
            inc.add(time, "fenced" if how == "fenced" else f"fenced ({how})")
        for s in self._of(host, VmHa.NOT_FENCED):
            self._set(s.vm, VmHa.RECOVERING, s.host, s.since, f"{host} is fenced now")
        return [Notice("warning", "fenced", host, None,
                       f"{host} was lost and is fenced ({how}): its VMs restart elsewhere")]

    def restarted(self, vm: str, host: str, time: float, target: str) -> None:
        """A restart run ended with the VM running on `target`."""
        self._up(vm, time, f"{vm} runs on {target}")

    def unfenced(self, host: str, time: float, error: str) -> list[Notice]:
        inc = self._current(host) or self._latest(host)
        if inc is not None:
            inc.add(time, f"unfence failed: {error}" if error else "unfenced")
            inc.fenced = inc.fenced and bool(error)
            self._close_if_over(inc, time)
        if error:
            return [Notice("error", "unfence-failed", host, None,
                           f"{host} could not be unfenced: {error}; nothing starts there")]
        return []

    def failed_back(self, vm: str, home: str, time: float, error: str) -> None:
        inc = self._latest(home)
        if inc is not None:
            inc.add(time, f"{vm} failback failed: {error}" if error
                    else f"{vm} is back on {home}")

    def seen_running(self, vm: str, host: str, time: float) -> None:
        """A check saw the VM running on `host` (restarted, failed back, started by hand)."""
        if vm in self._states:
            self._up(vm, time, f"{vm} seen running on {host}")

    def forget_host(self, host: str) -> None:
        """It left the cluster: its VMs' states go with it."""
        for s in list(self._states.values()):
            if s.host == host:
                del self._states[s.vm]

    # -- internals

    def _current(self, host: str) -> Incident | None:
        return next((i for i in reversed(self._incidents)
                     if i.host == host and i.end is None), None)

    def _latest(self, host: str) -> Incident | None:
        return next((i for i in reversed(self._incidents) if i.host == host), None)

    def _of(self, host: str, state: VmHa) -> list[VmHaState]:
        return [s for s in self._states.values() if s.host == host and s.state is state]

    def _since(self, vm: str, inc: Incident) -> float:
        s = self._states.get(vm)
        return s.since if s is not None else inc.start

    def _set(self, vm: str, state: VmHa, host: str, since: float, reason: str) -> None:
        self._states[vm] = VmHaState(vm, state, host, since, reason)

    def _up(self, vm: str, time: float, text: str) -> None:
        s = self._states.pop(vm, None)
        if s is None:
            return
        inc = self._current(s.host) or self._latest(s.host)
        if inc is None:
            return
        down = max(time - s.since, 0.0)
        inc.downtime[vm] = down
        inc.add(time, f"{text}: down {down:.0f} s")
        self._close_if_over(inc, time)

    def _close_if_over(self, inc: Incident, time: float) -> None:
        """Over once its host is back and unfenced, and none of its VMs is down or
        recovering (one stopped by policy waits for the operator, not for HA)."""
        if inc.end is None and inc.back and not inc.fenced and not any(
                s.host == inc.host and s.state is not VmHa.BY_POLICY
                for s in self._states.values()):
            inc.end = time
            inc.add(time, "over")


def health_reasons(phases: Mapping[str, str], vms: Mapping[str, VmHaState]) -> list[str]:
    """Why the cluster is not OK as HA sees it: hosts not OK, VMs HA should run that do not."""
    out = [f"HA: {h} {p}" for h, p in sorted(phases.items()) if p != "ok"]
    down = sorted(s.vm for s in vms.values() if s.state is not VmHa.BY_POLICY)
    if down:
        out.append(f"HA: {len(down)} VM{'s' if len(down) > 1 else ''} down or recovering: "
                   f"{', '.join(down)}")
    stopped = sorted(s.vm for s in vms.values() if s.state is VmHa.BY_POLICY)
    if stopped:
        out.append(f"HA: stopped by policy: {', '.join(stopped)}")
    return out


def _text(d: Decision) -> str:
    """A decision as a timeline entry (no time: the timeline says when)."""
    words = {Kind.LOST: "lost: no answer for the grace period",
             Kind.SELF_FENCED: f"its self-fence killed {d.reason} while it was cut off",
             Kind.FENCE: f"fence: {d.detail}" if d.detail else "fence",
             Kind.RETURNED: "back: it answers again",
             Kind.UNFENCE: "unfence decided",
             Kind.DOWN: "lost while in maintenance: nothing to recover"}
    if d.kind in words and d.vm is None:
        text = words[d.kind]
        return f"{text} ({d.reason})" if d.reason and d.kind is Kind.RETURNED else text
    return d.text()
