"""Faults on the simulator (a host powered off, cut off, slow, restored; a guest crashing)
and fencing (sim/fencing.py), as the tests, the drill and `--demo` inject them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mvm_tui.backends.base import InvalidState
from mvm_tui.backends.sim.ceph import CephModel
from mvm_tui.backends.sim.fencing import Fencing
from mvm_tui.backends.sim.state import LIVE, HostState, VmState, settle
from mvm_tui.clock import Clock
from mvm_tui.models import PowerState, StopReason


class SimFaults:
    """Mixed into SimBackend, which provides the state and lookups declared here."""

    _clock: Clock
    _ceph: CephModel | None
    fencing: Fencing

    if TYPE_CHECKING:  # provided by SimBackend and its other mixins
        def _host(self, name: str) -> HostState: ...
        def _vm(self, name: str) -> VmState: ...
        def _mon_quorum(self) -> tuple[str, ...]: ...

    def power_off_host(self, name: str) -> None:
        """The host loses power: it and its VMs die; its OSDs and monitor go down. After
        restore_host its VMs are shut off."""
        h = self._host(name)
        now = self._clock.now()
        h.powered = False
        for v in h.vms.values():
            settle(v, now)
            if v.power is not PowerState.SHUTOFF:
                v.power, v.shutoff_at = PowerState.SHUTOFF, None
                v.stop_reason = StopReason.UNKNOWN  # libvirtd, restarted, knows no reason
                v.generation += 1
        for name in h.copies:
            h.copies[name] = PowerState.SHUTOFF
        self._sync_osds(h)

    def cut_network(self, name: str) -> None:
        """The host drops off the network: unreachable, Ceph sees its OSDs down; its VMs keep
        running inside."""
        h = self._host(name)
        h.cut = True
        self._sync_osds(h)

    def self_fence(self, name: str, held: bool = False) -> None:
        """The host's mvm-selffence, cut off from the majority, kills its running VMs and
        notes them (for HA, if the host answers again before it is declared lost). Held: it
        still has no majority (its peers are out of its reach, not the jump box), until
        majority_back or restore_host."""
        h = self._host(name)
        h.no_majority = held
        now = self._clock.now()
        for v in h.vms.values():
            settle(v, now)
            if v.power in LIVE:  # (virsh destroy)
                v.power, v.shutoff_at = PowerState.SHUTOFF, None
                v.stop_reason = StopReason.DESTROYED
                v.generation += 1
                h.self_fenced.append(v.template.name)

    def majority_back(self, name: str) -> None:
        self._host(name).no_majority = False

    def clear_self_fenced(self, name: str) -> None:
        self._host(name).self_fenced.clear()

    def set_latency(self, name: str, seconds: float) -> None:
        """Make every call to the host take `seconds` of clock time (0: back to normal)."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self._host(name).latency = seconds

    def restore_host(self, name: str) -> None:
        """Power the host on and reconnect it; clears its latency too."""
        h = self._host(name)
        h.powered, h.cut, h.latency, h.no_majority = True, False, 0.0, False
        self._sync_osds(h)

    def crash_vm(self, vm: str) -> None:
        """The guest crashes (libvirt reports it "crashed" until started again)."""
        v = self._vm(vm)
        settle(v, self._clock.now())
        if v.power not in LIVE:
            raise InvalidState(f"{vm} is not running")
        v.power, v.shutoff_at = PowerState.CRASHED, None
        v.stop_reason = StopReason.CRASHED
        v.generation += 1

    def ignore_acpi(self, vm: str, ignore: bool = True) -> None:
        """The guest ignores (or, ignore=False, obeys again) ACPI shutdown requests."""
        self._vm(vm).acpi = not ignore

    def _sync_osds(self, h: HostState) -> None:
        if self._ceph is not None:
            self._ceph.set_up(self._ceph.osd_ids(h.spec.name), h.reachable, self._clock.now())

    # -- fencing (sim/fencing.py)

    def fence_host(self, host: str, expiry_s: float) -> None:
        """Blocklist the host's Ceph clients: its VMs die, none starts there until unfenced."""
        self.fencing.fence(self._host(host), expiry_s, self._clock.now(), self._quorum())

    def unfence_host(self, host: str) -> None:
        self.fencing.unfence(self._host(host).spec.name, self._quorum())

    def blocklist(self) -> list[str]:
        """The hosts whose Ceph clients are blocklisted now."""
        return [e.host for e in self.fencing.entries(self._clock.now())]

    def host_osds_up(self, host: str) -> bool | None:
        """Whether Ceph sees any OSD of the host up (None: no Ceph)."""
        ceph = self._ceph
        return None if ceph is None else any(ceph.up[o] for o in ceph.osd_ids(host))

    def _quorum(self) -> bool:
        ceph = self._ceph
        return ceph is None or 2 * len(self._mon_quorum()) > len(ceph.mons)
