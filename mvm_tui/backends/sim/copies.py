"""Copies of a VM's definition on hosts other than the one it runs from, on the simulator.

A real host keeps its libvirt definitions: a VM defined on another host from a kept copy of its
XML (HA restarting a lost host's VMs) leaves the old definition on the lost host, shut off (or
still running, if the host was only cut off and not fenced). An operator may also define a VM
by hand on a second host. The simulator keeps one main VmState per VM (where the cluster runs
it from) and, per host, these other copies with their power state; polls show both.
"""

from __future__ import annotations

from mvm_tui.backends.base import InvalidState, NotFound
from mvm_tui.backends.sim.spec import SimClusterSpec
from mvm_tui.backends.sim.state import LIVE, HostState, VmState, settle
from mvm_tui.clock import Clock
from mvm_tui.models import PowerState, Vm
from mvm_tui.units import count


class SimCopies:
    """Mixed into SimBackend (which provides _hosts, _vms, _host, _vm, _reach, fencing)."""

    _hosts: dict[str, HostState]
    _vms: dict[str, VmState]
    _clock: Clock
    spec: SimClusterSpec

    def _copy_host(self, name: str) -> HostState:
        if name not in self._hosts:
            raise NotFound(f"host {name} does not exist")
        return self._hosts[name]

    def _copy_vm(self, name: str) -> VmState:
        if name not in self._vms:
            raise NotFound(f"VM {name} does not exist")
        return self._vms[name]

    def copy_snapshots(self, h: HostState) -> list[Vm]:
        """How a poll of `h` sees the copies it holds of VMs defined elsewhere."""
        out = []
        for name, power in h.copies.items():
            v = self._vms.get(name)
            if v is not None:
                out.append(v.template.model_copy(update={
                    "host": h.spec.name, "power": power, "placement": v.placement,
                    "home_host": v.home_host}))
        return out

    def define_copy(self, vm: str, host: str) -> None:
        """An operator defines `vm` by hand on `host` too (from its XML): a shut-off copy."""
        v, h = self._copy_vm(vm), self._copy_host(host)
        if v.host == host:
            raise InvalidState(f"{vm} is defined on {host} already")
        h.copies[vm] = PowerState.SHUTOFF

    def copies_of(self, vm: str) -> dict[str, PowerState]:
        """host -> power of every copy of `vm` other than the main one (the truth)."""
        return {h.spec.name: h.copies[vm] for h in self._hosts.values() if vm in h.copies}

    def drop_copy(self, vm: str, host: str) -> None:
        """`virsh destroy` + `virsh undefine` of the copy on `host` (not the main one)."""
        h = self._copy_host(host)
        if vm not in h.copies:
            raise NotFound(f"{vm} has no other copy on {host}")
        del h.copies[vm]

    def move_main(self, vm: str, dest: str) -> None:
        """The VM's main definition is now the one on `dest` (defined there from a kept copy
        of its XML); the one it leaves stays defined, as it was, a copy."""
        v, d = self._copy_vm(vm), self._copy_host(dest)
        settle(v, self._clock.now())
        if v.host == dest:
            return
        if v.power in LIVE:
            raise InvalidState(f"{vm} is {v.power.value} on {v.host}")
        old = self._hosts[v.host]
        del old.vms[vm]
        old.copies[vm] = v.power
        d.copies.pop(vm, None)
        d.vms[vm] = v
        v.host = dest

    def running_hosts(self, vm: str) -> list[str]:
        """Every host where a copy of `vm` (main or not) is live now (the truth)."""
        v = self._copy_vm(vm)
        settle(v, self._clock.now())
        out = [v.host] if v.power in LIVE else []
        out += [h for h, p in self.copies_of(vm).items() if p in LIVE]
        return out

    def committed(self, host: str) -> tuple[int, int]:
        """Memory (MB) and vCPUs the host has given to live VMs and incoming migrations."""
        h = self._copy_host(host)
        now = self._clock.now()
        mem, cpus = h.incoming_mb, h.incoming_vcpus
        for v in h.vms.values():
            settle(v, now)
            if v.power in LIVE:
                mem, cpus = mem + v.memory_mb, cpus + v.template.vcpus
        for name, power in h.copies.items():
            if power in LIVE and name in self._vms:
                mem += self._vms[name].memory_mb
                cpus += self._vms[name].template.vcpus
        return mem, cpus

    def host_powered(self, host: str) -> bool:
        return self._copy_host(host).powered

    def host_reachable(self, host: str) -> bool:
        return self._copy_host(host).reachable

    def clock_now(self) -> float:
        return self._clock.now()

    def room_for(self, vm: str, host: str, reserve_mb: int | None = None) -> str:
        """"" when `vm` fits on `host` now, else why not (memory: its live VMs, running
        copies and incoming migrations; vCPUs: 4 per thread)."""
        v, h = self._copy_vm(vm), self._copy_host(host)
        mem, cpus = self.committed(host)
        if v.host == host and v.power in LIVE:
            return ""
        base = self.spec.host_base_mem_mb if reserve_mb is None else reserve_mb
        free = h.spec.memory_mb - base - mem
        if v.memory_mb > free:
            return f"{host} has {max(free, 0)} MB free for VMs now, {v.memory_mb} MB are needed"
        if v.template.vcpus > 4 * h.spec.vcpus - cpus:
            return f"{host} has {count(max(4 * h.spec.vcpus - cpus, 0), 'vCPU')} free now"
        return ""
