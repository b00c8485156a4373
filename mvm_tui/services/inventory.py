"""Live inventory: one polling loop per host, so a slow or dead host never delays the others.

Each loop re-arms its timer only when its last poll finished (no pile-up of polls on a slow
host) and bounds every poll by the configured timeout. Results land in one in-memory picture of
the cluster, with a bounded metric history per host and per VM, and the events derived from what
changed between polls. Listeners are told that something changed; they read `snapshot()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from mvm_tui.backends.base import BackendError, ClusterBackend
from mvm_tui.clock import Clock, ClockTimeout
from mvm_tui.models import (
    CephStatus,
    ClusterSnapshot,
    Event,
    EventLevel,
    Host,
    HostMetrics,
    HostPoll,
    HostState,
    PowerState,
    Vm,
)
from mvm_tui.services.vm_cpu_history import VmCpuHistory

log = logging.getLogger(__name__)

MAX_EVENTS = 500


@dataclass(frozen=True)
class PollTimers:
    interval: float = 2.0
    timeout: float = 8.0
    slow_threshold: float = 3.0
    metrics_window: float = 600.0

    @property
    def history_len(self) -> int:
        return max(2, int(self.metrics_window / self.interval) + 1)


Listener = Callable[[], None]


class InventoryPoller:
    def __init__(self, backend: ClusterBackend, clock: Clock, timers: PollTimers) -> None:
        self.backend = backend
        self.clock = clock
        self.timers = timers
        self._hosts: dict[str, Host] = {
            h.name: Host(name=h.name, address=h.address) for h in backend.hosts
        }
        self._vms: dict[str, tuple[Vm, ...]] = {h.name: () for h in backend.hosts}
        self._host_history: dict[str, deque[HostMetrics]] = {
            h.name: deque(maxlen=timers.history_len) for h in backend.hosts
        }
        self._vm_cpu = VmCpuHistory(timers.history_len)
        self._ceph: CephStatus | None = None
        self._ceph_error: str | None = None
        self._events: deque[Event] = deque(maxlen=MAX_EVENTS)
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._snapshot: ClusterSnapshot | None = None
        self._by_name: dict[str, Vm] = {}  # the last snapshot's VMs by name
        self._names: frozenset[str] = frozenset()  # their names ...
        self._sorted_names: list[str] = []  # ... sorted
        self.polls_done = 0  # completed host polls, successful or not
        backend.on_host_left(self.remove_host)  # (its decommission's last step)
        self._pokes: dict[str, asyncio.Event] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._loop(self._poll_host, h.name), name=f"poll {h.name}")
            for h in self.backend.hosts
        ]
        self._tasks.append(asyncio.create_task(self._loop(self._poll_ceph, ""), name="poll ceph"))
        self.backend.watch(self.poke)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def remove_host(self, name: str) -> None:
        """The host left the cluster (decommissioned; heard through the backend's
        host_left): it is polled no more and leaves the snapshot (hosts, capacity, placement
        targets) now, not at the next start."""
        if name not in self._hosts:
            return
        for task in [t for t in self._tasks if t.get_name() == f"poll {name}"]:
            task.cancel()
            self._tasks.remove(task)
        del self._hosts[name], self._vms[name], self._host_history[name]
        self.record_event(EventLevel.INFO, name, "left the cluster (decommissioned)")

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- reading ---------------------------------------------------------------------------

    def snapshot(self) -> ClusterSnapshot:
        if self._snapshot is None:
            self._snapshot = self._build_snapshot()
        return self._snapshot

    def vm(self, name: str) -> Vm | None:
        """The VM of that name in the snapshot (a lookup, not a pass over every VM)."""
        self.snapshot()
        return self._by_name.get(name)

    def host_history(self, host: str) -> Sequence[HostMetrics]:
        return tuple(self._host_history.get(host, ()))

    def vm_cpu_history(self, vm: str) -> Sequence[float]:
        return self._vm_cpu.of(vm)

    def events(self) -> list[Event]:
        """Newest first."""
        return list(reversed(self._events))

    # -- writing ---------------------------------------------------------------------------

    def record_event(self, level: EventLevel, subject: str, message: str) -> None:
        self._events.append(
            Event(time=self.clock.now(), level=level, subject=subject, message=message)
        )
        self._changed()

    def update_vm(self, vm: Vm) -> None:
        """Take a VM's fresh state (e.g. right after a power action) without waiting a poll."""
        for host, vms in self._vms.items():
            if any(v.name == vm.name for v in vms) and host != vm.host:
                self._vms[host] = tuple(v for v in vms if v.name != vm.name)
        if vm.host in self._vms:
            others = tuple(v for v in self._vms[vm.host] if v.name != vm.name)
            self._vms[vm.host] = (*others, vm)
        self._changed()

    async def poll_host(self, name: str) -> None:
        """One poll of one host, bounded by the timeout; the outcome becomes its state."""
        await self._poll_host(name)

    async def poll_ceph(self) -> None:
        await self._poll_ceph("")

    # -- internals -------------------------------------------------------------------------

    async def _loop(self, poll: Callable[[str], Awaitable[None]], name: str) -> None:
        while True:
            try:
                await poll(name)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not kill the loop; it is logged, polling goes on
                log.exception("poll of %s failed unexpectedly", name or "ceph")
            await self._pause(name)

    async def _pause(self, name: str) -> None:
        """The poll interval, cut short when the backend says the host changed (libvirt
        lifecycle events): events drive updates, polling is the fallback."""
        poked = self._pokes.setdefault(name, asyncio.Event())
        poked.clear()
        sleeping = asyncio.ensure_future(self.clock.sleep(self.timers.interval))
        waiting = asyncio.ensure_future(poked.wait())
        try:
            await asyncio.wait({sleeping, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            waiting.cancel()

    def poke(self, host: str) -> None:
        """Poll `host` now rather than at the end of its interval."""
        self._pokes.setdefault(host, asyncio.Event()).set()

    async def _poll_host(self, name: str) -> None:
        if name not in self._hosts:  # removed from the cluster
            return
        started = self.clock.now()
        try:
            poll: HostPoll = await self.clock.wait_for(
                self.backend.poll_host(name), self.timers.timeout
            )
        except (ClockTimeout, BackendError) as exc:
            if name not in self._hosts:
                return
            self._host_failed(name, str(exc))
        else:
            if name not in self._hosts:  # removed while the poll ran
                return
            elapsed = self.clock.now() - started
            self._host_answered(name, poll, slow=elapsed > self.timers.slow_threshold)
        self.polls_done += 1
        self._changed()

    def _host_answered(self, name: str, poll: HostPoll, slow: bool) -> None:
        old = self._hosts[name]
        self._note_vm_changes(name, poll.vms, first_answer=old.last_seen is None)
        if poll.maintenance:
            state = HostState.MAINTENANCE
        else:
            state = HostState.SLOW if slow else HostState.ONLINE
        self._hosts[name] = old.model_copy(
            update={
                "state": state,
                "facts": poll.facts,
                "metrics": poll.metrics,
                "error": None,
                "last_seen": poll.metrics.time,
            }
        )
        self._host_history[name].append(poll.metrics)
        self._note_host_change(old, state, None)
        self._vm_cpu.answered(name, self._vms[name], poll.vms)
        self._vms[name] = poll.vms

    def _host_failed(self, name: str, error: str) -> None:
        old = self._hosts[name]
        self._hosts[name] = old.model_copy(
            update={"state": HostState.UNREACHABLE, "error": error}
        )
        self._note_host_change(old, HostState.UNREACHABLE, error)
        # What ran there is unknown now: keep the VMs (they are still assigned to the host) but
        # do not pretend to know their power state or load.
        self._vms[name] = tuple(
            v.model_copy(update={"power": PowerState.UNKNOWN, "cpu_pct": 0.0})
            for v in self._vms[name]
        )

    async def _poll_ceph(self, _: str) -> None:
        try:
            status = await self.clock.wait_for(self.backend.ceph_status(), self.timers.timeout)
        except (ClockTimeout, BackendError) as exc:
            if self._ceph_error is None:
                self.record_event(EventLevel.ERROR, self.backend.name, f"Ceph: {exc}")
            self._ceph_error = str(exc)
        else:
            old = self._ceph
            if old and status and old.health != status.health:
                level = EventLevel.INFO if status.health == "HEALTH_OK" else EventLevel.WARNING
                detail = "; ".join(c.message for c in status.checks.values())
                self.record_event(
                    level,
                    self.backend.name,
                    f"Ceph {old.health} → {status.health}" + (f": {detail}" if detail else ""),
                )
            self._ceph, self._ceph_error = status, None
        self._changed()

    def _note_host_change(self, old: Host, state: HostState, error: str | None) -> None:
        if old.state == state or (old.state is HostState.UNKNOWN and state is HostState.ONLINE):
            return
        if state is HostState.UNREACHABLE:
            self.record_event(EventLevel.ERROR, old.name, f"unreachable: {error}")
        elif state is HostState.SLOW:
            self.record_event(EventLevel.WARNING, old.name, "answers slowly")
        elif old.state in (HostState.UNREACHABLE, HostState.SLOW):
            self.record_event(EventLevel.INFO, old.name, f"back {state.value}")
        else:
            self.record_event(EventLevel.INFO, old.name, f"now {state.value}")

    def _note_vm_changes(self, host: str, vms: Sequence[Vm], first_answer: bool) -> None:
        if first_answer:  # what a host runs when first seen is the inventory, not a change
            return
        shown = self._vms[host]
        pairs: Iterable[tuple[Vm | None, Vm]]
        if len(shown) == len(vms) and all(  # (mostly the same objects, in the same order)
                a is b or a.name == b.name for a, b in zip(shown, vms, strict=True)):
            pairs = ((a, b) for a, b in zip(shown, vms, strict=True) if a is not b)
        else:
            before = {v.name: v for v in shown}
            pairs = ((before.get(vm.name), vm) for vm in vms)
        for old, vm in pairs:
            if old is None:
                where = self._host_of(vm.name)
                if where and self._incoming_from(where, vm):
                    message = f"arriving on {host} from {where} (live migration)"
                else:
                    message = f"moved {where} → {host}" if where else f"appeared on {host}"
                self.record_event(EventLevel.INFO, vm.name, message)
            elif old.power != vm.power and old.power is not PowerState.UNKNOWN:
                self.record_event(EventLevel.INFO, vm.name, f"{old.power} → {vm.power}")

    def _incoming_from(self, where: str, vm: Vm) -> bool:
        """`vm` is the paused copy of a live migration from `where`, where it still runs."""
        return any(v.name == vm.name and _incoming(vm, v) for v in self._vms[where])

    def _host_of(self, vm: str) -> str | None:
        for host, vms in self._vms.items():
            if any(v.name == vm for v in vms):
                return host
        return None

    def _changed(self) -> None:
        self._snapshot = None
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("inventory listener failed")

    def _build_snapshot(self) -> ClusterSnapshot:
        # A VM seen on two hosts (a stale answer from a host that stopped answering, while the
        # VM was moved) is taken from the host heard from most recently; but while it is live
        # migrated, the destination lists it paused from the start: it runs on the source until
        # the switch-over (paused there too), then on the destination.
        order = sorted(self._hosts.values(), key=lambda h: h.last_seen or 0.0)
        listed = [self._vms[host.name] for host in order]
        vms = {vm.name: vm for on_host in listed for vm in on_host}
        if len(vms) < sum(map(len, listed)):  # a VM on two hosts
            vms = {}
            for on_host in listed:
                for vm in on_host:
                    seen = vms.get(vm.name)
                    if not (seen is not None and _incoming(vm, seen)):
                        vms[vm.name] = vm
        self._by_name = vms
        if vms.keys() != self._names:  # (names sorted again only when they changed)
            self._names, self._sorted_names = frozenset(vms), sorted(vms)
        return ClusterSnapshot(
            name=self.backend.name,
            layout=self.backend.layout,
            time=self.clock.now(),
            hosts=tuple(self._hosts.values()),
            vms=tuple(map(vms.__getitem__, self._sorted_names)),
            ceph=self._ceph,
            ceph_error=self._ceph_error,
        )


def _incoming(vm: Vm, other: Vm) -> bool:
    """`vm` is the paused copy a live migration's destination lists while `other`, on
    another host, still runs."""
    return (vm.power is PowerState.PAUSED and other.power is PowerState.RUNNING
            and vm.host != other.host)
