"""Which domains changed on one connection since a poll last looked: libvirt's change events,
and this application's own writes, for the poll's cache of parsed domain XML (domcache.py).

Each connection (handles.Link) has its own DomainChanges: a reconnect starts a new one, and
the cache, seeing another connection, starts over. The events come on libvirt's event thread,
where no libvirt object is used: the event's domain is only kept, and its UUID is read on the
connection's worker by the next poll (take()), which also frees it there.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from typing import Any

import libvirt  # type: ignore[import-untyped]

# What changes the domain XML the poll reads (domxml.parse_domain): its devices, metadata
# (placement), CPU and memory tunables, balloon, disk sources; and its definition and state,
# from the lifecycle event, which connection.py registers (once: libvirt takes one callback
# per event) and notes here.
CHANGE_EVENTS = (
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
    libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE,
    libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_DISK_CHANGE,
    libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,  # a copy's pivot changes a disk's source
    libvirt.VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
)
PENDING_MAX = 10_000  # events kept between two polls; beyond, every domain counts as changed


class DomainChanges:
    def __init__(self) -> None:
        self.tracked = False  # its connection's change events are registered
        self._lock = threading.Lock()
        self._pending: list[Any] = []  # the events' domains (libvirt objects, untouched)
        self._marked: set[str] = set()  # UUIDs
        self._everything = False

    def noted(self, dom: Any) -> None:
        """An event's domain (libvirt's event thread)."""
        if not self.tracked:
            return  # (a lifecycle event of a connection that only forwards them)
        with self._lock:
            if len(self._pending) < PENDING_MAX:
                self._pending.append(dom)
            else:
                self._everything = True

    def mark(self, uuid: str) -> None:
        """A domain this application changed itself (on the worker)."""
        with self._lock:
            self._marked.add(uuid)

    def take(self) -> tuple[set[str], bool]:
        """On the connection's worker: the UUIDs changed since the last take, and whether
        every domain is to be taken as changed."""
        with self._lock:
            pending, self._pending = self._pending, []
            marked, self._marked = self._marked, set()
            everything, self._everything = self._everything, False
        for dom in pending:
            try:
                marked.add(str(dom.UUIDString()))
            except libvirt.libvirtError:
                everything = True
        return marked, everything

    def discard(self) -> None:
        """The connection closes (on its worker): its events' domains are freed here."""
        with self._lock:
            self._pending = []


def register_changes(conn: Any, changes: DomainChanges) -> list[int]:
    """Register the change events on a connection (on its worker, as it opens); their
    callback ids. An event the host's libvirtd does not know is left out."""

    def changed(_conn: Any, dom: Any, *_details: Any) -> None:
        changes.noted(dom)

    ids: list[int] = []
    for event in CHANGE_EVENTS:
        with suppress(libvirt.libvirtError):
            ids.append(int(conn.domainEventRegisterAny(None, event, changed, None)))
    changes.tracked = True
    return ids
