"""Failover on the simulator, as on a real HCI cluster (backends.real_failover): fence by the
simulated Ceph blocklist or power, restart a lost host's VMs elsewhere (the lost host keeps its
own definition, a copy), remove the stale copies of a returned host. Previews show the
commands the real cluster runs."""

from __future__ import annotations

import shlex
from typing import Any, Protocol

from mvm_tui.backends.base import HostRef, InvalidState
from mvm_tui.backends.capabilities import StateStore
from mvm_tui.backends.ceph.commands import osd_blocklist_add, osd_blocklist_rm
from mvm_tui.backends.libvirt.failover import define_from
from mvm_tui.backends.libvirt.failover import remove_commands as lv_remove_commands
from mvm_tui.backends.libvirt.power import power_commands
from mvm_tui.backends.sim.fencing import Fencing
from mvm_tui.models import HostPoll, PowerAction, PowerState, Vm


class SimCluster(Protocol):
    """What SimFailover uses of SimBackend (which builds it: no import back)."""

    hosts: tuple[HostRef, ...]
    fencing: Fencing
    ha_state: dict[str, Any] | None

    async def poll_host(self, host: str) -> HostPoll: ...
    async def vm_info(self, vm: str) -> Vm: ...
    async def vm_power(self, vm: Vm, action: PowerAction) -> None: ...
    async def relocate(self, vm: str, dest: str) -> None: ...
    def libvirt_uri(self, host: str) -> str: ...
    def clock_now(self) -> float: ...
    def fence_host(self, host: str, expiry_s: float) -> None: ...
    def unfence_host(self, host: str) -> None: ...
    def blocklist(self) -> list[str]: ...
    def power_off_host(self, name: str) -> None: ...
    def host_osds_up(self, host: str) -> bool | None: ...
    def clear_self_fenced(self, name: str) -> None: ...
    def host_powered(self, host: str) -> bool: ...
    def host_reachable(self, host: str) -> bool: ...
    def where_is(self, vm: str) -> str: ...
    def move_main(self, vm: str, dest: str) -> None: ...
    def copies_of(self, vm: str) -> dict[str, PowerState]: ...
    def drop_copy(self, vm: str, host: str) -> None: ...
    def running_hosts(self, vm: str) -> list[str]: ...
    def room_for(self, vm: str, host: str, reserve_mb: int | None = None) -> str: ...


class KeptInSim:
    """HA's state kept in the simulated cluster: it survives a restart of the HA service."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim

    async def load(self) -> dict[str, Any] | None:
        return self.sim.ha_state

    async def save(self, state: dict[str, Any]) -> None:
        self.sim.ha_state = state


class SimFailover:
    self_fence_required = False  # (the simulator's hosts fence themselves when told to)

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self._store = KeptInSim(sim)

    def state_store(self) -> StateStore | None:
        return self._store

    def with_kept(self, state: dict[str, Any]) -> dict[str, Any]:
        return state  # (every VM's definition is in the simulated cluster)

    def restore_kept(self, state: dict[str, Any]) -> None:
        """(Nothing kept beside the state.)"""

    async def check(self, host: str, timeout: float) -> HostPoll | None:
        return await self.sim.poll_host(host)

    # -- fencing

    def _address(self, host: str) -> str:
        """Every Ceph client of the host's address, as the real backend blocklists it."""
        return next((h.address for h in self.sim.hosts if h.name == host), host) + ":0/0"

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return [shlex.join(osd_blocklist_add(self._address(host), max(1, int(expiry_s))))]

    def unfence_commands(self, host: str) -> list[str]:
        return [shlex.join(osd_blocklist_rm(self._address(host)))]

    async def fence(self, host: str, expiry_s: float) -> None:
        self.sim.fence_host(host, expiry_s)

    async def unfence(self, host: str) -> None:
        self.sim.unfence_host(host)

    async def is_fenced(self, host: str) -> bool:
        return host in self.sim.blocklist()

    async def fenced_now(self, host: str) -> str:
        if host in self.sim.blocklist():
            return "blocklisted"
        return "" if self.sim.host_powered(host) else "powered off"

    def power_off_commands(self, host: str) -> list[str]:
        return [f"ipmitool chassis power off  # {host}"]

    async def power_off(self, host: str) -> None:
        self.sim.power_off_host(host)

    async def osds_up(self, host: str) -> bool | None:
        return self.sim.host_osds_up(host)

    async def clear_self_fenced(self, host: str) -> None:
        self.sim.clear_self_fenced(host)

    # -- restarts and stale copies

    def restart_commands(self, vm: str, target: str) -> list[str]:
        """As the real cluster's: virsh on the target's libvirt URI."""
        uri = self.sim.libvirt_uri(target)
        return [*define_from(uri, f"the definition of {vm} as HA kept it"),
                *power_commands(uri, vm, PowerAction.START)]

    async def define_on(self, vm: str, lost: str, target: str, timeout: float) -> None:
        """Define it on target from its definition (the lost host keeps its own copy)."""
        where = self.sim.where_is(vm)
        if where == target:
            return
        if where != lost and self.sim.host_reachable(where):  # (left shut off there by a
            # failed restart: moved from there; the lost host keeps its own definition)
            await self.sim.relocate(vm, target)
            return
        await self.sim.poll_host(target)  # reach it
        self.sim.fencing.check_can_run(target, self.sim.clock_now())
        self.sim.move_main(vm, target)

    async def state_on(self, vm: str, host: str) -> PowerState | None:
        if self.sim.where_is(vm) == host:
            return (await self.sim.vm_info(vm)).power
        return self.sim.copies_of(vm).get(host)

    async def start_on(self, vm: str, host: str) -> None:
        info = await self.sim.vm_info(vm)
        if info.host != host:
            raise InvalidState(f"{vm} is on {info.host}, not {host}")
        await self.sim.vm_power(info, PowerAction.START)

    def remove_commands(self, vm: str, host: str) -> list[str]:
        return lv_remove_commands(self.sim.libvirt_uri(host), vm)

    async def remove_copy(self, vm: str, host: str) -> None:
        if self.sim.where_is(vm) == host:
            raise InvalidState(f"{host} holds the only definition of {vm}")
        if host in self.sim.copies_of(vm):
            self.sim.drop_copy(vm, host)

    async def running_on(self, vm: str, timeout: float) -> list[str]:
        return [h for h in self.sim.running_hosts(vm) if self.sim.host_reachable(h)]

    async def room_for(self, vm: str, host: str, timeout: float) -> str:
        await self.sim.poll_host(host)  # reach it
        return self.sim.room_for(vm, host)
