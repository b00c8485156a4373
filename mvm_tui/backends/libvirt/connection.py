"""One libvirt connection per host, used from asyncio without ever blocking the event loop.

mvm-tui itself does not hold these: they live in the process libvirt runs apart in (apart.py,
agent.py), so a crash of libvirt's client never takes mvm-tui down; the rules below hold
there (and in tests that use LibvirtHost directly).

The threading rule (libvirt-python objects are not to be shared between threads, and each one
holds its connection alive; a SIGSEGV in libvirt.so came from breaking it):

* A connection is opened, used and closed on ONE thread, its host's worker (`Worker`), and
  every object taken from it (virDomain, virStream ...) is used on that thread only, inside the
  call that took it: `LibvirtHost.run(fn)` runs fn(conn) there, conn guarded
  (handles.Guarded): each call through it, or through an object it returned, first checks
  that it runs on the connection's own thread and that the connection is still the host's
  current one. Nothing else in the process calls libvirt on a host's connection (a migration
  opens a connection of its own, on a thread of its own: migrate.py).
* A reconnect invalidates every object taken from the old connection: it is marked stale
  before a new one is opened, and any later call through one of its objects (even by a call
  that started before the reconnect) is refused with HostUnreachable before it reaches
  libvirt. Objects are not kept between calls: a VM is looked up again by name each time.
* No libvirt object leaves the worker: not as a result (refused), not in an exception's
  traceback (stripped on the worker: worker.detach), so none is freed on another thread.
  The old connection is closed on its own worker, after the call in flight there, and the
  new one is opened there after it: never beside a call still running on the old one.
* Connecting is bounded by `connect_timeout`. A connect that does not come back in time is
  abandoned to its thread (whatever it opens late is closed there; an attempt given up before
  it started opens nothing) and the host gets a fresh worker, so later calls do not queue
  behind it. Not while a call on the old connection is still in flight on that worker: the
  caller hears HostUnreachable, and the reconnect waits for that call to return (keepalive
  bounds it).
* libvirt's default event loop runs on one daemon thread per process (`ensure_event_loop`):
  it drives keepalive, the close callback and domain events. The callbacks there touch no
  libvirt object: the close callback sets a flag; a lifecycle event's domain is read (name,
  UUID) on the worker, and dropped if its connection is no longer current; a change event's
  domain is kept for the next poll, which reads its UUID on the worker (changes.py).
* Keepalive makes a call on a connection whose host went away fail after about
  interval * (count + 1) seconds instead of hanging; the close callback then marks the
  connection dead and the next call reconnects.
* Lifecycle events (start, stop, crash...) go to an async handler on the event loop; they and
  the other change events also tell the poll which domains' XML to read again (changes.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.base import BackendError, HostUnreachable, InvalidState
from mvm_tui.backends.libvirt import console, errors
from mvm_tui.backends.libvirt.changes import register_changes
from mvm_tui.backends.libvirt.events import (
    EVENT_KINDS,
    EventHandler,
    EventQueue,
    LifecycleEvent,
    ensure_event_loop,
)
from mvm_tui.backends.libvirt.handles import Guarded, Link, check_result
from mvm_tui.backends.libvirt.worker import Worker
from mvm_tui.clock import within

T = TypeVar("T")
Conn = Any  # a libvirt.virConnect: libvirt-python ships no type information
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeepAlive:
    """conn.setKeepAlive(interval_s, count): a silent peer is dropped after about
    interval_s * (count + 1) seconds."""

    interval_s: int = 5
    count: int = 3


class _Attempt:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.link: Link | None = None


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
        track_changes: bool = True,
        opener: Callable[[str], Conn] | None = None,
        before_open: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.uri = uri
        self.before_open = before_open  # makes the URI reachable (a forwarded socket)
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.on_event = on_event
        self.track_changes = track_changes  # for a poll's cache (False: HA's checks)
        self._opener: Callable[[str], Conn] = opener or libvirt.open
        self._worker = Worker(f"libvirt-{name}")
        self._link: Link | None = None
        self._previous: Link | None = None  # the connection the last reconnect replaced
        self._generations = itertools.count(1)
        self._lock = asyncio.Lock()
        self._closed = False
        self.events = EventQueue(name, on_event)
        self._opening: asyncio.Future[Link] | None = None  # a connect under way
        self._console_numbers = itertools.count(1)
        self._consoles: dict[int, Link] = {}  # open consoles: the connection each is on
        ensure_event_loop()

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.dead

    @property
    def generation(self) -> int:
        """The current connection's number (each reconnect gives the next); 0 before any."""
        return self._link.generation if self._link is not None else 0

    async def connect(self) -> None:
        """Open the connection now (calls open it anyway). Raises HostUnreachable."""
        await self._ensure()

    async def run(self, fn: Callable[[Conn], T], what: str = "") -> T:
        """fn(conn) on this host's worker thread. libvirt errors come back as backend errors
        whose message starts with "<host>: <what>: "."""
        link = await self._ensure()
        context = f"{self.name}: {what}" if what else self.name
        try:
            fut = link.worker.submit(lambda: self._call(link, fn, context))
        except BackendError:  # its worker stopped: the host was closed meanwhile
            raise BackendError(f"{context}: the libvirt connection is closed") from None
        return await asyncio.wrap_future(fut)

    async def close(self) -> None:
        self._closed = True
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
            with suppress(asyncio.CancelledError, BackendError):
                await self._opening
        link, self._link = self._link, None
        if link is not None:
            link.stale = True
            fut = link.worker.submit(lambda: self._close_link(link))
            with suppress(Exception):
                await within(asyncio.wrap_future(fut), self.connect_timeout)
            link.worker.stop()
        if link is None or link.worker is not self._worker:
            self._worker.stop()
        await self.events.close()

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

    async def migrate_apart(self, vm: str, dest_uri: str, params: dict[str, Any],
                            flags: int) -> None:
        """dom.migrateToURI3, which blocks for the whole migration, on a connection and a
        thread of its own: this host's worker stays free for polls and the job's stats."""
        worker = Worker(f"migrate-{vm}")
        try:
            fut = worker.submit(lambda: self._migrate_blocking(vm, dest_uri, params, flags))
        finally:
            worker.stop()  # its thread ends after this one call
        await asyncio.wrap_future(fut)

    def _migrate_blocking(self, vm: str, dest_uri: str, params: dict[str, Any],
                          flags: int) -> None:
        context = f"{self.name}: migrate {vm}"
        conn = self.open_blocking()
        try:
            conn.lookupByName(vm).migrateToURI3(dest_uri, params, flags)
        except libvirt.libvirtError as exc:
            if errors.looks_like_transport_error(exc) and not errors.is_alive(conn):
                raise errors.connection_lost(exc, context) from exc
            raise errors.map_error(exc, context) from exc
        finally:
            with suppress(libvirt.libvirtError):
                conn.close()

    async def open_console(self, vm: str, force: bool, deliver: console.Deliver,
                           number: int | None = None) -> int:
        """`vm`'s serial console (console.py): what it writes goes to deliver(data, ""), its
        end to deliver(b"", why), both on this event loop. Returns its number."""
        link = await self._ensure()
        number = number if number is not None else next(self._console_numbers)
        on_loop = console.on_loop(asyncio.get_running_loop(), deliver)
        await asyncio.wrap_future(link.worker.submit(
            lambda: console.open_console(link, vm, force, number, on_loop)))
        self._consoles[number] = link
        return number

    async def console_write(self, number: int, data: bytes) -> None:
        link = self._consoles.get(number)
        if link is None or link.stale or link.dead:
            raise InvalidState(f"{self.name}: the console is closed")
        await asyncio.wrap_future(link.worker.submit(lambda: console.send(link, number, data)))

    async def console_close(self, number: int) -> None:
        link = self._consoles.pop(number, None)
        if link is not None and not link.stale:
            with suppress(BackendError):  # (its worker stopped: closed with the connection)
                await asyncio.wrap_future(link.worker.submit(lambda: console.close(link, number)))

    def connection_closed(self, link: Link, reason: int) -> None:
        """The close callback (libvirt's event thread): the next call reconnects."""
        link.dead = True
        log.warning("%s: libvirt connection closed (reason %s)", self.name, reason)

    # -- on the worker thread

    def _call(self, link: Link, fn: Callable[[Conn], T], context: str) -> T:
        if link.stale or link.dead:
            what = "was replaced by a reconnect" if link.stale else "to libvirtd was lost"
            raise HostUnreachable(f"{context}: the connection {what}")
        link.check()
        link.in_flight += 1
        try:
            result = fn(Guarded(link.conn, link))
        except libvirt.libvirtError as exc:
            if errors.looks_like_transport_error(exc) and not errors.is_alive(link.conn):
                link.dead = True
                raise errors.connection_lost(exc, context) from exc
            raise errors.map_error(exc, context) from exc
        finally:
            link.in_flight -= 1
        return check_result(result, context)  # type: ignore[no-any-return]

    def _open(self, attempt: _Attempt, loop: asyncio.AbstractEventLoop,
              worker: Worker) -> Link | None:
        with attempt.lock:
            if attempt.abandoned:  # given up before it started: nobody waits for it
                return None
        link = Link(self.name, self.open_blocking(), next(self._generations), worker)
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

    def _register(self, link: Link, loop: asyncio.AbstractEventLoop) -> None:
        # both run on libvirt's event thread: they call nothing on a libvirt object there
        def closed(_conn: Conn, reason: int, _opaque: object) -> None:
            self.connection_closed(link, reason)

        def lifecycle(_conn: Conn, dom: Any, event: int, detail: int, _opaque: object) -> None:
            link.changes.noted(dom)  # (before the application's handler hears of it)
            if self.on_event is None:
                return
            kind = EVENT_KINDS.get(event, f"event-{event}")
            with suppress(BackendError):  # the worker stopped: the connection is gone
                link.worker.submit(lambda: self._event(link, dom, kind, detail, loop))

        try:
            link.conn.registerCloseCallback(closed, None)
            link.close_cb = True
        except libvirt.libvirtError as exc:
            if not errors.is_unsupported(exc):
                raise
        if self.track_changes:
            link.event_ids.extend(register_changes(link.conn, link.changes))
        if self.on_event is not None or self.track_changes:
            eid = link.conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, None
            )
            link.event_ids.append(int(eid))

    def _event(self, link: Link, dom: Any, kind: str, detail: int,
               loop: asyncio.AbstractEventLoop) -> None:
        """On the worker: the event's domain read while its connection is current."""
        if link.stale or link.dead:
            return  # from a connection replaced since: the next poll says what is there
        try:
            ev = LifecycleEvent(self.name, str(dom.name()), str(dom.UUIDString()), kind, detail)
        except libvirt.libvirtError:
            return
        with suppress(RuntimeError):  # the loop is closed: nobody listens any more
            loop.call_soon_threadsafe(self.events.put, ev)

    def _close_link(self, link: Link) -> None:
        why = "closed" if self._closed else "lost or replaced by a reconnect"
        console.end_all(link, f"{self.name}: the libvirt connection was {why}")
        link.stale = link.dead = True
        for eid in link.event_ids:
            with suppress(libvirt.libvirtError):
                link.conn.domainEventDeregisterAny(eid)
        if link.close_cb:
            with suppress(libvirt.libvirtError):
                link.conn.unregisterCloseCallback()
        link.changes.discard()
        with suppress(libvirt.libvirtError):
            link.conn.close()

    # -- on the event loop

    async def _ensure(self) -> Link:
        link = self._link
        if link is not None and not link.dead:
            return link
        # The opening goes on when the caller gives up (an HA check bounded below the time a
        # connect takes at 100 ms of latency would abandon every attempt, and never connect):
        # the next call finds the connection, or waits for the same attempt.
        if self._opening is None or self._opening.done():
            self._opening = asyncio.ensure_future(self._reopen())
            self._opening.add_done_callback(_retrieved)
        return await asyncio.shield(self._opening)

    async def _reopen(self) -> Link:
        async with self._lock:
            link = self._link
            if link is not None and not link.dead:
                return link
            if self._closed:
                raise BackendError(f"{self.name}: the libvirt connection is closed")
            if link is not None:
                self._link = None
                self._previous = old = link
                old.stale = True  # from now on no call reaches it or its objects
                with suppress(BackendError):  # its worker stopped: only when the host closed
                    old.worker.submit(lambda: self._close_link(old))
            if self.before_open is not None:
                try:
                    await within(self.before_open(), self.connect_timeout)
                except TimeoutError:
                    raise HostUnreachable(f"{self.name}: not reached within "
                                          f"{self.connect_timeout:g} s") from None
            return await self._open_in_time()

    async def _open_in_time(self) -> Link:
        loop = asyncio.get_running_loop()
        attempt = _Attempt()
        worker = self._worker
        fut = asyncio.wrap_future(worker.submit(lambda: self._open(attempt, loop, worker)))
        try:
            link = await within(fut, self.connect_timeout)
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
            old = self._previous
            if old is not None and old.worker is worker and old.in_flight:
                # A call on the old connection is still in flight on the worker: a new
                # connection is never opened beside it (on another thread) while it runs.
                raise HostUnreachable(
                    f"{self.name}: no answer from libvirt within "
                    f"{self.connect_timeout:g} s: a call on the lost connection "
                    "has not returned yet") from None
            # The worker is stuck in the connect: it closes whatever it opens late. Calls
            # from now on go to a fresh worker instead of queueing behind it.
            self._worker.stop()
            self._worker = Worker(f"libvirt-{self.name}")
            raise HostUnreachable(
                f"{self.name}: no answer from libvirt within {self.connect_timeout:g} s"
            ) from None
        if link is None:  # cannot happen: only abandoned attempts return None
            raise HostUnreachable(f"{self.name}: connection attempt abandoned")
        self._link = link
        return link

def _retrieved(fut: asyncio.Future[Any]) -> None:
    """A connect nobody waits for any more: its failure is seen by the next call."""
    if not fut.cancelled():
        fut.exception()
