"""libvirt's event loop (one daemon thread per process) and the lifecycle events it delivers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import libvirt  # type: ignore[import-untyped]

from mvm_tui.models import PowerState

log = logging.getLogger(__name__)
_events_lock = threading.Lock()
_events_started = False


def _quiet(_ctx: object, _err: object) -> None:
    """libvirt prints every error on stderr by default, which would garble the terminal UI.
    The errors reach the caller as exceptions anyway."""


def quiet_errors() -> None:
    """Keep libvirt from printing its errors on stderr (they are raised all the same)."""
    libvirt.registerErrorHandler(_quiet, None)


def _run_events() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()


def ensure_event_loop() -> None:
    """Register libvirt's default event loop implementation and run it on a daemon thread,
    once per process. It has to be registered before connections are opened: a connection
    gets keepalive and events only from the event loop registered when it was opened."""
    global _events_started
    with _events_lock:
        if _events_started:
            return
        quiet_errors()
        libvirt.virEventRegisterDefaultImpl()
        threading.Thread(target=_run_events, name="libvirt-events", daemon=True).start()
        _events_started = True


EVENT_KINDS = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}
_EVENT_POWER = {
    "started": PowerState.RUNNING,
    "resumed": PowerState.RUNNING,
    "suspended": PowerState.PAUSED,
    "pmsuspended": PowerState.PAUSED,
    "stopped": PowerState.SHUTOFF,
    "crashed": PowerState.CRASHED,
}


@dataclass(frozen=True)
class LifecycleEvent:
    """A domain lifecycle event (VIR_DOMAIN_EVENT_ID_LIFECYCLE) from one host."""

    host: str
    vm: str
    uuid: str
    kind: str  # "started", "stopped", "crashed", "defined", "undefined", ... or "event-N"
    detail: int  # the libvirt VIR_DOMAIN_EVENT_<KIND>_* detail code

    @property
    def power(self) -> PowerState | None:
        """The power state the event implies, when it implies one."""
        return _EVENT_POWER.get(self.kind)


EventHandler = Callable[[LifecycleEvent], Awaitable[None]]


class EventQueue:
    """A host's lifecycle events to its async handler: one at a time, in the order libvirt
    sent them (put() on the event loop)."""

    def __init__(self, host: str, handler: EventHandler | None) -> None:
        self.host = host
        self.handler = handler
        self._queue: asyncio.Queue[LifecycleEvent] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._closed = False

    def put(self, ev: LifecycleEvent) -> None:
        if self.handler is None or self._closed:
            return
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._consumer = asyncio.get_running_loop().create_task(self._consume(self._queue))
        self._queue.put_nowait(ev)

    async def _consume(self, events: asyncio.Queue[LifecycleEvent]) -> None:
        while True:
            ev = await events.get()
            if self.handler is None:
                continue
            try:
                await self.handler(ev)
            except Exception:
                log.exception("%s: lifecycle event handler failed for %s", self.host, ev)

    async def close(self) -> None:
        self._closed = True
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
