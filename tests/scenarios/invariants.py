"""What must hold at every step of every scenario, checked against the simulator's truth (not
against what the HA service believes):

- no VM runs on two hosts (its main copy and its other copies counted);
- no host is overcommitted (memory for VMs: the host's memory less its reserve; vCPUs: 4 per
  thread) by its live VMs and the copies that run there (or fuller than it started);
- no pinned VM is defined anywhere but its host;
- no VM is started while a copy of it is on a host that is unreachable and not fenced
  (neither blocklisted nor powered off): that copy may still be running;
- no VM is started on a host whose self-fence is active (it would kill it at once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mvm_tui.backends.sim import SimBackend
from mvm_tui.models import Placement, PowerAction, Vm


class Invariants:
    def __init__(self, sim: SimBackend, now: Callable[[], str]) -> None:
        self.sim, self.now = sim, now
        self.violations: list[str] = []
        # a scenario may start with a host fuller than its room: it must not get fuller
        self.start_mem = {h.name: sim.committed(h.name)[0] for h in sim.hosts}
        self.pinned = {name: sim.where_is(name) for name in sim.vm_names()
                       if sim._vms[name].placement is Placement.PINNED}
        self._watch_starts()

    def _bad(self, what: str) -> None:
        line = f"{self.now()} {what}"
        if line not in self.violations:
            self.violations.append(line)

    def check(self) -> None:
        sim = self.sim
        for name in sim.vm_names():
            where = sim.running_hosts(name)
            if len(where) > 1:
                self._bad(f"{name} runs on {' and '.join(sorted(where))}")
        for ref in sim.hosts:
            h = sim._hosts[ref.name]
            mem, cpus = sim.committed(ref.name)
            mem -= h.incoming_mb  # reservations are not VMs yet
            cpus -= h.incoming_vcpus
            room = max(h.spec.memory_mb - sim.spec.host_base_mem_mb, self.start_mem[ref.name])
            if mem > room:
                self._bad(f"{ref.name} is overcommitted: {mem} MB of VMs, room for {room} MB")
            if cpus > 4 * h.spec.vcpus:
                self._bad(f"{ref.name} is overcommitted: {cpus} vCPUs for {h.spec.vcpus} threads")
        for name, host in self.pinned.items():
            if sim.where_is(name) != host:
                self._bad(f"pinned {name} moved from {host} to {sim.where_is(name)}")

    def _watch_starts(self) -> None:
        sim = self.sim
        power = sim.vm_power

        async def vm_power(vm: Vm, action: PowerAction) -> None:
            if action is PowerAction.START:
                here = sim.where_is(vm.name)
                if sim._hosts[here].no_majority:
                    self._bad(f"{vm.name} started on {here}, whose self-fence kills what runs")
                for host in sim.copies_of(vm.name):
                    h = sim._hosts[host]
                    if not h.reachable and h.powered and host not in sim.blocklist():
                        self._bad(f"{vm.name} started on {sim.where_is(vm.name)} while {host}, "
                                  "which has a copy of it, is unreachable and not fenced")
            await power(vm, action)
            self.check()

        setattr(sim, "vm_power", vm_power)  # noqa: B010 - wraps this instance's method

    def attach(self, hook_owner: Any) -> None:
        """Also check around every migration switch-over."""
        hook_owner.switchover_hooks.append(lambda *_: self.check())
