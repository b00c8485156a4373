"""What the HA service does to a cluster, as Runs (so every step is in History): fence a lost
host, restart a VM elsewhere, remove a returned host's stale copies and unfence it, fail a VM
back by live migration.

Fencing and restarting a lost host's VMs go beyond the ClusterBackend interface: they go
through HaActions, implemented over the backend's failover capability (services.ha_failover,
for the real HCI backend and the simulator) and for clusters HA cannot fence (NoHaActions,
whose fence always fails, so nothing is restarted).
"""

from __future__ import annotations

import shlex
from typing import Any, Protocol

from mvm_tui.backends.base import BackendError, ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.ceph.commands import osd_blocklist_add, osd_blocklist_rm
from mvm_tui.core.placement import LIVE, room_left
from mvm_tui.models import PowerAction, PowerState, Vm


class HaActions(Protocol):
    """Fencing and restarting elsewhere: what HA needs beyond the backend interface."""

    def fence_commands(self, host: str, expiry_s: float) -> list[str]: ...
    def unfence_commands(self, host: str) -> list[str]: ...
    async def fence(self, host: str, expiry_s: float) -> None: ...
    async def unfence(self, host: str) -> None: ...
    async def is_fenced(self, host: str) -> bool: ...
    def power_off_commands(self, host: str) -> list[str]: ...
    async def power_off(self, host: str) -> None: ...  # IPMI
    async def osds_up(self, host: str) -> bool | None: ...  # any of its OSDs up (None: no Ceph)
    def restart_commands(self, vm: str, target: str) -> list[str]: ...
    async def define_on(self, vm: str, lost: str, target: str) -> None: ...
    async def state_on(self, vm: str, host: str) -> PowerState | None: ...  # None: not there
    async def start_on(self, vm: str, host: str) -> None: ...
    def remove_commands(self, vm: str, host: str) -> list[str]: ...
    async def remove_copy(self, vm: str, host: str) -> None: ...  # stop and undefine there
    # the guards, asked right before acting
    async def fenced_now(self, host: str) -> str: ...  # how it is fenced now; "" if it is not
    async def running_on(self, vm: str) -> list[str]: ...  # answering hosts where it is live
    async def room_for(self, vm: str, host: str) -> str: ...  # "" when it fits, else why not
    async def clear_self_fenced(self, host: str) -> None: ...  # its self-fence marker is read
    # what the failover engine must not forget (services.ha_memory), kept with the cluster
    async def load_state(self) -> dict[str, Any] | None: ...
    async def save_state(self, state: dict[str, Any]) -> None: ...


def _address(backend: ClusterBackend, host: str) -> str:
    """Every Ceph client of the host's address, as the real backend blocklists it."""
    return next((h.address for h in backend.hosts if h.name == host), host) + ":0/0"


class NoHaActions:
    """For clusters HA cannot fence: every fence fails (saying why), so nothing is ever
    restarted; lost hosts are still reported. Restarts and stale copies go through the
    backend interface (one definition per VM)."""

    NOT_HCI = ("no fencing method for this cluster (fencing blocklists a host's Ceph clients: "
               "HCI clusters only)")
    NO_SELF_FENCE = ("[clusters.ha] self_fence_after is not set: a host that only lost its "
                     "network would keep running its VMs (run mvm-selffence on every host and "
                     "set it)")

    def __init__(self, backend: ClusterBackend, why: str = NOT_HCI) -> None:
        self.backend = backend
        self.why = why
        self._state: dict[str, Any] | None = None  # this process only

    async def load_state(self) -> dict[str, Any] | None:
        return self._state

    async def save_state(self, state: dict[str, Any]) -> None:
        self._state = state

    async def clear_self_fenced(self, host: str) -> None:
        """(No self-fence marker to clear: a cluster HA cannot fence restarts nothing.)"""

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return [shlex.join(osd_blocklist_add(_address(self.backend, host),
                                             max(1, int(expiry_s))))]

    def unfence_commands(self, host: str) -> list[str]:
        return [shlex.join(osd_blocklist_rm(_address(self.backend, host)))]

    def power_off_commands(self, host: str) -> list[str]:
        return [f"ipmitool chassis power off  # {host}"]

    def restart_commands(self, vm: str, target: str) -> list[str]:
        return [f"# {vm}: define on {target} (shared storage)",
                *self.backend.power_commands(stub(vm, target), PowerAction.START)]

    async def state_on(self, vm: str, host: str) -> PowerState | None:
        try:
            info = await self.backend.vm_info(vm)
        except NotFound:
            return None
        return info.power if info.host == host else None

    async def start_on(self, vm: str, host: str) -> None:
        info = await self.backend.vm_info(vm)
        if info.host != host:
            raise InvalidState(f"{vm} is on {info.host}, not {host}")
        await self.backend.vm_power(info, PowerAction.START)

    def remove_commands(self, vm: str, host: str) -> list[str]:
        return [f"# {vm}: nothing left on {host} (one definition per VM)"]

    async def remove_copy(self, vm: str, host: str) -> None:
        if await self.state_on(vm, host) is not None:
            raise InvalidState(f"{vm} is still on {host}")

    async def running_on(self, vm: str) -> list[str]:
        try:
            info = await self.backend.vm_info(vm)
        except NotFound:
            return []
        return [info.host] if info.host is not None and info.power in LIVE else []

    async def room_for(self, vm: str, host: str) -> str:
        poll = await self.backend.poll_host(host)
        size = await self._size(vm)
        return room_left(poll, host, size)

    async def _size(self, vm: str) -> tuple[int, int]:
        info = await self.backend.vm_info(vm)
        return info.memory_mb, info.vcpus

    async def fence(self, host: str, expiry_s: float) -> None:
        raise BackendError(self.why)

    async def unfence(self, host: str) -> None:
        """Nothing was ever fenced."""

    async def is_fenced(self, host: str) -> bool:
        return False

    async def fenced_now(self, host: str) -> str:
        return ""

    async def power_off(self, host: str) -> None:
        raise BackendError("no IPMI configured")

    async def osds_up(self, host: str) -> bool | None:
        return None

    async def define_on(self, vm: str, lost: str, target: str) -> None:
        raise BackendError(self.why)


def stub(vm: str, host: str | None) -> Vm:
    return Vm(name=vm, uuid="", host=host, power=PowerState.UNKNOWN, vcpus=0, memory_mb=0)
