"""Guarded libvirt handles: a libvirt object is only ever used on its connection's own worker
thread, and only while that connection is the host's current one.

The rule (see connection.py, where the connection lives):

* A connection (virConnect) is opened, used and closed on one thread: its host's worker.
  Every object taken from it (virDomain, virStream, virStoragePool ...) is used on that
  thread only, inside the one call (`LibvirtHost.run(fn)`) that took it: `fn` gets the
  connection wrapped in a `Guarded`, and every object a guarded call returns is wrapped too.
* A reconnect (or a close) makes the old connection stale: from then on every call through
  a handle of it is refused with HostUnreachable ("... replaced by a reconnect ...") before
  it reaches libvirt, including a call of a `fn` that started before the reconnect. Code
  that needs a VM again later looks it up again, by name or UUID, in a later call.
* No libvirt object leaves the worker: a result that is one is refused, and an exception
  leaves without its traceback (whose frames would hold the domain and free it, maybe the
  old connection's last reference, on whatever thread drops the exception).

libvirt-python's objects hold a reference on their connection: virConnectClose only drops
the application's own; the connection is torn down (its socket, its ssh session) when the
last object taken from it is freed, on the thread that frees it. Hence the last point.
"""

from __future__ import annotations

import threading
from typing import Any

from mvm_tui.backends.base import BackendError, HostUnreachable
from mvm_tui.backends.libvirt.changes import DomainChanges
from mvm_tui.backends.libvirt.worker import Worker

_PLAIN = (str, bytes, int, float, bool, type(None))
_PLAIN_TYPES = frozenset(_PLAIN)  # (exact types: a fast test of a whole stats record)


class Link:
    """One open connection of a host, the thread it belongs to and its generation (the
    host's count of connections opened: a reconnect gives a higher one)."""

    def __init__(self, host: str, conn: Any, generation: int, worker: Worker) -> None:
        self.host = host
        self.worker = worker
        self.conn = conn
        self.generation = generation
        self.thread_id = threading.get_ident()  # opened on its worker: used only there
        self.dead = False  # set by the close callback or a failed call; next call reconnects
        self.stale = False  # replaced by a reconnect, or closed: its objects are not used
        self.in_flight = 0  # calls running on it now (on its worker)
        self.event_ids: list[int] = []
        self.close_cb = False
        self.changes = DomainChanges()
        self.consoles: dict[int, Any] = {}  # open console streams (console.ConsoleStream)

    def check(self) -> None:
        """Raise unless a call on this connection may be made now, from this thread."""
        if threading.get_ident() != self.thread_id:
            raise BackendError(
                f"{self.host}: a libvirt object of connection #{self.generation} was used "
                f"from thread {threading.current_thread().name!r}, not its connection's own "
                "worker: refused")
        if self.stale:
            raise HostUnreachable(
                f"{self.host}: libvirt connection #{self.generation} was replaced by a "
                "reconnect: its objects are not used any more (look the VM up again)")
        if self.dead:
            raise HostUnreachable(f"{self.host}: the connection to libvirtd was lost")


class Guarded:
    """A libvirt object as the code on the worker sees it: each method call checks its
    connection first (Link.check); what the call returns is guarded in turn."""

    __slots__ = ("_link", "_obj")

    def __init__(self, obj: Any, link: Link) -> None:
        self._obj = obj
        self._link = link

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr
        link = self._link

        def call(*args: Any, **kwargs: Any) -> Any:
            link.check()
            if args:
                args = tuple(unwrap(a) for a in args)
            if kwargs:
                kwargs = {k: unwrap(v) for k, v in kwargs.items()}
            return guard(attr(*args, **kwargs), link)

        return call

    def __repr__(self) -> str:
        return f"<guarded {type(self._obj).__name__} of {self._link.host} #{self._link.generation}>"


_PLAIN_OR_GUARDED = (*_PLAIN, Guarded)


def changes_of(conn: Any) -> DomainChanges | None:
    """The change log of a guarded connection; None when nothing is known of its changes (a
    bare connection, or one opened without change events)."""
    if isinstance(conn, Guarded) and conn._link.changes.tracked:
        return conn._link.changes
    return None


def note_change(conn: Any, dom: Any) -> None:
    """This application changed `dom` on `conn` (on the worker): its next poll reads it again."""
    changes = changes_of(conn)
    if changes is not None:
        changes.mark(str(dom.UUIDString()))


def guard(value: Any, link: Link) -> Any:
    """What a libvirt call returned, with every object in it (anything but plain data) guarded
    by its connection."""
    if isinstance(value, _PLAIN_OR_GUARDED):
        return value
    if isinstance(value, (list, tuple)):  # (a tuple of types: a faster test than a union)
        if _PLAIN_TYPES.issuperset(map(type, value)):
            return value  # (getInfo ...: nothing to wrap, nothing copied)
        items = [guard(v, link) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        if _PLAIN_TYPES.issuperset(map(type, value.values())):
            return value  # (a stats record)
        return {k: guard(v, link) for k, v in value.items()}
    return Guarded(value, link)


def unwrap(value: Any) -> Any:
    """An argument for libvirt: guarded objects (in lists too, e.g. domainListGetStats) as the
    objects themselves, once their connection was checked."""
    if isinstance(value, Guarded):
        value._link.check()
        return value._obj
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def _holds_object(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _PLAIN):
        return False
    if isinstance(value, Guarded):
        return True
    if depth >= 2:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_object(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_holds_object(v, depth + 1) for v in value.values())
    return type(value).__module__ == "libvirt"


def check_result(value: Any, context: str) -> Any:
    """The result of a call on the worker, refused when it (or what it directly holds) is a
    libvirt object: those are used on their worker only."""
    if _holds_object(value):
        raise BackendError(f"{context}: a libvirt object cannot leave its connection's worker "
                           "thread (return plain data; look the object up again later)")
    return value

