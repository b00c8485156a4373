"""One libvirt connection per host, used from asyncio without ever blocking the event loop.

* Every libvirt call of a host runs on that host's own worker thread, one at a time, in order
  (`LibvirtHost.run`). The event loop only awaits the result.
* Connecting is bounded by `connect_timeout`. A connect that does not come back in time is
  abandoned to its thread (whatever it opens late is closed there) and the host gets a fresh
  worker, so later calls do not queue behind it.
* libvirt's default event loop runs on one daemon thread per process (`ensure_event_loop`):
  it drives keepalive, the close callback and domain events.
* Keepalive makes a call on a connection whose host went away fail after about
  interval * (count + 1) seconds instead of hanging; the close callback then marks the
  connection dead and the next call reconnects.
* Lifecycle events (start, stop, crash...) go to an async handler on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.base import BackendError, HostUnreachable
from mvm_tui.backends.libvirt import errors
from mvm_tui.backends.libvirt.events import (
    EVENT_KINDS,
    EventHandler,
    LifecycleEvent,
    ensure_event_loop,
)
from mvm_tui.backends.libvirt.worker import Worker

T = TypeVar("T")
Conn = Any  # a libvirt.virConnect: libvirt-python ships no type information
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeepAlive:
    """conn.setKeepAlive(interval_s, count): a silent peer is dropped after about
    interval_s * (count + 1) seconds."""

    interval_s: int = 5
    count: int = 3


class _Link:
    """One open connection and what was registered on it."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.dead = False  # set by the close callback or a failed call; next call reconnects
        self.event_ids: list[int] = []
        self.close_cb = False


class _Attempt:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.link: _Link | None = None


class LibvirtHost:
    """The libvirt connection of one host, opened on first use and reopened after it broke."""

    def __init__(
        self,
        name: str,
        uri: str,
        *,
        connect_timeout: float = 15.0,
        keepalive: KeepAlive | None = KeepAlive(),
        on_event: EventHandler | None = None,
        opener: Callable[[str], Conn] | None = None,
    ) -> None:
        self.name = name
        self.uri = uri
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.on_event = on_event
        self._opener: Callable[[str], Conn] = opener or libvirt.open
        self._worker = Worker(f"libvirt-{name}")
        self._link: _Link | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._events: asyncio.Queue[LifecycleEvent] | None = None
        self._consumer: asyncio.Task[None] | None = None
        ensure_event_loop()

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.dead

    async def connect(self) -> None:
        """Open the connection now (calls open it anyway). Raises HostUnreachable."""
        await self._ensure()

    async def run(self, fn: Callable[[Conn], T], what: str = "") -> T:
        """fn(conn) on this host's worker thread. libvirt errors come back as backend errors
        whose message starts with "<host>: <what>: "."""
        link = await self._ensure()
        context = f"{self.name}: {what}" if what else self.name
        return await asyncio.wrap_future(self._worker.submit(lambda: self._call(link, fn, context)))

    async def close(self) -> None:
        self._closed = True
        link, self._link = self._link, None
        worker = self._worker
        if link is not None:
            fut = worker.submit(lambda: self._close_link(link))
            with suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(fut), self.connect_timeout)
        worker.stop()
        if self._consumer is not None:
            self._consumer.cancel()
            with suppress(asyncio.CancelledError):
                await self._consumer

    def open_blocking(self) -> Conn:
        """A new, separate connection to the same host, with keepalive, for a caller that
        needs one of its own (a migration). Blocks: call it from a thread; close it after."""
        try:
            conn = self._opener(self.uri)
        except libvirt.libvirtError as exc:
            raise errors.open_failed(exc, self.name, self.uri) from exc
        try:
            self._set_keepalive(conn)
        except libvirt.libvirtError as exc:
            with suppress(libvirt.libvirtError):
                conn.close()
            raise errors.open_failed(exc, self.name, self.uri) from exc
        return conn

    def connection_closed(self, link: _Link, reason: int) -> None:
        """The close callback (libvirt's event thread): the next call reconnects."""
        link.dead = True
        log.warning("%s: libvirt connection closed (reason %s)", self.name, reason)

    # -- on the worker thread

    def _call(self, link: _Link, fn: Callable[[Conn], T], context: str) -> T:
        if link.dead:
            raise HostUnreachable(f"{context}: the connection to libvirtd was lost")
        try:
            return fn(link.conn)
        except libvirt.libvirtError as exc:
            if errors.looks_like_transport_error(exc) and not errors.is_alive(link.conn):
                link.dead = True
                raise errors.connection_lost(exc, context) from exc
            raise errors.map_error(exc, context) from exc

    def _open(self, attempt: _Attempt, loop: asyncio.AbstractEventLoop) -> _Link | None:
        link = _Link(self.open_blocking())
        try:
            self._register(link, loop)
        except libvirt.libvirtError as exc:
            self._close_link(link)
            raise errors.open_failed(exc, self.name, self.uri) from exc
        with attempt.lock:
            if not attempt.abandoned:
                attempt.link = link
                return link
        self._close_link(link)  # opened too late: nobody is waiting for it any more
        return None

    def _set_keepalive(self, conn: Conn) -> None:
        if self.keepalive is None:
            return
        try:
            conn.setKeepAlive(self.keepalive.interval_s, self.keepalive.count)
        except libvirt.libvirtError as exc:
            if not errors.is_unsupported(exc):  # local drivers (test://) have no keepalive
                raise

    def _register(self, link: _Link, loop: asyncio.AbstractEventLoop) -> None:
        def closed(_conn: Conn, reason: int, _opaque: object) -> None:
            self.connection_closed(link, reason)

        def lifecycle(_conn: Conn, dom: Any, event: int, detail: int, _opaque: object) -> None:
            kind = EVENT_KINDS.get(event, f"event-{event}")
            ev = LifecycleEvent(self.name, str(dom.name()), str(dom.UUIDString()), kind, detail)
            with suppress(RuntimeError):  # the loop is closed: nobody listens any more
                loop.call_soon_threadsafe(self._dispatch, ev)

        try:
            link.conn.registerCloseCallback(closed, None)
            link.close_cb = True
        except libvirt.libvirtError as exc:
            if not errors.is_unsupported(exc):
                raise
        if self.on_event is not None:
            eid = link.conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None
            )
            link.event_ids.append(int(eid))

    def _close_link(self, link: _Link) -> None:
        link.dead = True
        for eid in link.event_ids:
            with suppress(libvirt.libvirtError):
                link.conn.domainEventDeregisterAny(eid)
        if link.close_cb:
            with suppress(libvirt.libvirtError):
                link.conn.unregisterCloseCallback()
        with suppress(libvirt.libvirtError):
            link.conn.close()

    # -- on the event loop

    async def _ensure(self) -> _Link:
        link = self._link
        if link is not None and not link.dead:
            return link
        async with self._lock:
            link = self._link
            if link is not None and not link.dead:
                return link
            if self._closed:
                raise BackendError(f"{self.name}: the libvirt connection is closed")
            if link is not None:
                self._link = None
                old = link
                self._worker.submit(lambda: self._close_link(old))
            return await self._open_in_time()

    async def _open_in_time(self) -> _Link:
        loop = asyncio.get_running_loop()
        attempt = _Attempt()
        fut = asyncio.wrap_future(self._worker.submit(lambda: self._open(attempt, loop)))
        try:
            link = await asyncio.wait_for(fut, self.connect_timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            with attempt.lock:
                attempt.abandoned = True
                late = attempt.link
            if late is not None:  # it made it just in time after all
                self._link = late
            if isinstance(exc, asyncio.CancelledError):
                raise
            if late is not None:
                return late
            # The worker is stuck in the connect: it closes whatever it opens late. Calls
            # from now on go to a fresh worker instead of queueing behind it.
            self._worker.stop()
            self._worker = Worker(f"libvirt-{self.name}")
            raise HostUnreachable(
                f"{self.name}: no answer from libvirt at {self.uri} "
                f"within {self.connect_timeout:g} s"
            ) from None
        if link is None:  # cannot happen: only abandoned attempts return None
            raise HostUnreachable(f"{self.name}: connection attempt abandoned")
        self._link = link
        return link

    def _dispatch(self, ev: LifecycleEvent) -> None:
        """Queue an event for the handler: one at a time, in the order libvirt sent them."""
        if self.on_event is None or self._closed:
            return
        if self._events is None:
            self._events = asyncio.Queue()
            self._consumer = asyncio.get_running_loop().create_task(self._consume(self._events))
        self._events.put_nowait(ev)

    async def _consume(self, events: asyncio.Queue[LifecycleEvent]) -> None:
        while True:
            ev = await events.get()
            handler = self.on_event
            if handler is None:
                continue
            try:
                await handler(ev)
            except Exception:
                log.exception("%s: lifecycle event handler failed for %s", self.name, ev)
