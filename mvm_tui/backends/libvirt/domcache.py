"""Every domain's parsed XML, kept by UUID between polls of one host, so a poll with nothing
changed makes no XMLDesc call and parses nothing (issue 16: 78 of each every 2 s per host).

A domain's XML is read again when
* libvirt said it changed, or this application changed it (changes.DomainChanges);
* its state in the stats record is not the one it was read in (a live XML is not the
  inactive one);
* its stats record disagrees with it: the memory (balloon.maximum) or the disks (block.N.name);
* it was read more than MAX_AGE seconds ago (a change no event reports: a vCPU unplug, or an
  event lost), or the connection is another one (a reconnect: nothing is known).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mvm_tui.backends.libvirt.changes import DomainChanges
from mvm_tui.backends.libvirt.domxml import DomainXml, parse_domain
from mvm_tui.backends.libvirt.stats import KIB
from mvm_tui.models import Vm

MAX_AGE = 60.0


@dataclass(frozen=True)
class _Entry:
    spec: DomainXml
    state: object  # the record's state.state when it was read
    expires: float  # monotonic time


def agrees(spec: DomainXml, rec: Mapping[str, Any]) -> bool:
    """Whether what the stats record says of the domain's memory and disks is what its XML
    said (a record without them agrees)."""
    maximum = rec.get("balloon.maximum")
    if isinstance(maximum, int) and maximum // KIB != spec.memory_mb:
        return False
    count = rec.get("block.count")
    if isinstance(count, int):
        names = {rec.get(f"block.{i}.name") for i in range(count)}
        if not {d.target for d in spec.disks} <= names or not names <= spec.block_targets:
            return False
    return True


def _lifetime(uuid: str) -> float:
    # between MAX_AGE/2 and MAX_AGE, by UUID: domains read at the same poll are not all read
    # again at the same later poll
    return MAX_AGE * (0.5 + (zlib.crc32(uuid.encode()) % 1000) / 2000)


class DomainCache:
    """One host's parsed domain XML, and the Vms last made of it (where libvirt runs, named
    by a Resident)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        # UUID -> the parts a Vm was made of at the last poll (its XML, power, load, disk
        # sizes) and that Vm: the same parts give the same Vm, not a new one
        self._vms: dict[str, tuple[tuple[object, ...], Vm]] = {}
        self._source: DomainChanges | None = None  # the connection's change log
        self.reads = 0  # XML read and parsed, all told

    def sync(self, changes: DomainChanges | None) -> None:
        """At the start of a poll: forget what changed since the last one."""
        if changes is None or changes is not self._source:
            self._entries.clear()  # another connection (or one without a change log)
            self._source = changes
        if changes is None:
            return
        marked, everything = changes.take()
        if everything:
            self._entries.clear()
        for uuid in marked:
            self._entries.pop(uuid, None)

    def spec(self, dom: Any, uuid: str, rec: Mapping[str, Any], t: float) -> DomainXml:
        """The domain's parsed XML, read now only when needed (see the module's doc)."""
        state = rec.get("state.state")
        entry = self._entries.get(uuid)
        if (entry is not None and t < entry.expires and entry.state == state
                and agrees(entry.spec, rec)):
            return entry.spec
        spec = parse_domain(str(dom.XMLDesc(0)))
        self.reads += 1
        if self._source is not None:
            self._entries[uuid] = _Entry(spec, state, t + _lifetime(uuid))
        return spec

    def known_vm(self, uuid: str, parts: tuple[object, ...]) -> Vm | None:
        last = self._vms.get(uuid)
        return last[1] if last is not None and last[0] == parts else None

    def keep_vm(self, uuid: str, parts: tuple[object, ...], vm: Vm) -> None:
        self._vms[uuid] = (parts, vm)

    def keep_only(self, uuids: Iterable[str]) -> None:
        """Drop the domains that are no longer defined."""
        keep = set(uuids)
        for uuid in [u for u in self._entries if u not in keep]:
            del self._entries[uuid]
        for uuid in [u for u in self._vms if u not in keep]:
            del self._vms[uuid]
