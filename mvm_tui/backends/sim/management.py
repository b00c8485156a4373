"""Placement, cold moves and maintenance on the simulator (mixed into SimBackend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mvm_tui.backends.base import InvalidState
from mvm_tui.backends.host_commands import maintenance_commands
from mvm_tui.backends.libvirt.metadata import placement_commands
from mvm_tui.backends.sim.fencing import Fencing
from mvm_tui.backends.sim.state import LIVE, HostState, VmState, settle
from mvm_tui.clock import Clock
from mvm_tui.models import Placement, Vm


class SimManagement:
    """Mixed into SimBackend, which provides the state and lookups declared here."""

    _clock: Clock
    _hosts: dict[str, HostState]
    fencing: Fencing

    if TYPE_CHECKING:  # provided by SimBackend
        def _host(self, name: str) -> HostState: ...
        def _vm(self, name: str) -> VmState: ...
        def _defined_on(self, vm: Vm) -> str: ...
        def libvirt_uri(self, host: str) -> str: ...
        async def _reach(self, h: HostState) -> None: ...

    def placement_commands(self, vm: Vm, placement: Placement, home_host: str | None
                           ) -> list[str]:
        return placement_commands(self.libvirt_uri(self._defined_on(vm)), vm.name, placement,
                                  home_host, running=vm.power in LIVE)

    async def set_placement(self, vm: str, placement: Placement, home_host: str | None) -> None:
        v = self._vm(vm)
        await self._reach(self._hosts[v.host])
        if home_host is not None:
            self._host(home_host)
        v.placement, v.home_host = placement, home_host

    async def relocate(self, vm: str, dest: str) -> None:
        """Define a VM that is not running on another host (a cold move over shared storage,
        e.g. to start it there after its host was lost). It stays shut off."""
        v = self._vm(vm)
        d = self._host(dest)
        if d.spec.name == v.host:
            raise InvalidState(f"{vm} is already on {dest}")
        await self._reach(d)
        settle(v, self._clock.now())
        if v.power in LIVE:
            raise InvalidState(f"{vm} is {v.power.value} on {v.host}")
        self.fencing.check_can_run(dest, self._clock.now())
        if v.host == dest:
            return
        del self._hosts[v.host].vms[vm]
        d.copies.pop(vm, None)
        d.vms[vm] = v
        v.host = dest

    def maintenance_commands(self, host: str, on: bool) -> list[str]:
        self._host(host)
        return maintenance_commands(host, on)

    async def set_maintenance(self, host: str, on: bool) -> None:
        h = self._host(host)
        await self._reach(h)
        h.maintenance = on

