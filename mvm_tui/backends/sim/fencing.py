"""Fencing on the simulator: Ceph's OSD blocklist, and what it does to a host's VMs.

A blocklisted client can no longer write to the cluster: the VMs of a fenced host lose their
disks and die (QEMU stops a guest whose writes fail), and no VM can start there until the host
is unfenced. So a VM restarted elsewhere after its host was fenced never runs on two hosts,
even when the fenced host was only cut off and comes back with its guests still in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from mvm_tui.backends.base import BackendError, InvalidState
from mvm_tui.backends.sim.state import LIVE, HostState, settle
from mvm_tui.models import PowerState


@dataclass(frozen=True)
class BlocklistEntry:
    host: str
    address: str  # the host's Ceph client address
    until: float  # when Ceph drops the entry by itself


class Fencing:
    def __init__(self) -> None:
        self._entries: dict[str, BlocklistEntry] = {}

    def entries(self, now: float) -> list[BlocklistEntry]:
        """`ceph osd blocklist ls`: the entries not expired yet."""
        return [e for e in self._entries.values() if e.until > now]

    def is_fenced(self, host: str, now: float) -> bool:
        e = self._entries.get(host)
        return e is not None and e.until > now

    def fence(self, h: HostState, expiry_s: float, now: float, quorum: bool) -> None:
        """`ceph osd blocklist add ADDR EXPIRY`: needs the monitors' quorum. The host's live
        VMs die: their writes are refused."""
        if not quorum:
            raise BackendError("ceph: monitors have no quorum: cannot blocklist")
        if expiry_s <= 0:
            raise ValueError("blocklist expiry must be positive")
        name = h.spec.name
        self._entries[name] = BlocklistEntry(name, h.spec.address, now + expiry_s)
        for v in h.vms.values():
            settle(v, now)
            if v.power in LIVE:
                v.power, v.shutoff_at = PowerState.SHUTOFF, None
                v.generation += 1
        for vm in h.copies:
            h.copies[vm] = PowerState.SHUTOFF

    def unfence(self, host: str, quorum: bool) -> None:
        """`ceph osd blocklist rm ADDR`."""
        if not quorum:
            raise BackendError("ceph: monitors have no quorum: cannot remove the blocklist entry")
        self._entries.pop(host, None)

    def check_can_run(self, host: str, now: float) -> None:
        """Raise InvalidState when a VM cannot start on `host` (it is fenced)."""
        if self.is_fenced(host, now):
            raise InvalidState(f"{host} is fenced (its Ceph clients are blocklisted)")
