"""HA's actions on a cluster whose backend offers failover (backends.capabilities.Failover:
the real HCI backend and the simulator): fence a lost host, restart its VMs elsewhere, remove
a returned host's stale copies. HA's state goes to a store (RADOS, next to HA's lease, or the
one the cluster keeps itself), with what the backend keeps for it (the VMs' definitions)."""

from __future__ import annotations

from typing import Any

from mvm_tui.backends.capabilities import Failover, StateStore
from mvm_tui.models import HostPoll, PowerState


class FailoverActions:
    def __init__(self, failover: Failover, check_timeout: float,
                 state: StateStore | None = None) -> None:
        self.failover = failover
        self.check_timeout = check_timeout
        # a little under the service's own bound, so a slow half does not fail a whole check
        self.light_timeout = 0.9 * check_timeout
        self.state = failover.state_store() if state is None else state
        self._memory: dict[str, Any] | None = None  # without a store: this process only

    async def load_state(self) -> dict[str, Any] | None:
        state = self._memory if self.state is None else await self.state.load()
        if state:
            self.failover.restore_kept(state)
        return state

    async def save_state(self, state: dict[str, Any]) -> None:
        full = self.failover.with_kept(state)
        if self.state is None:
            self._memory = full
        else:
            await self.state.save(full)

    async def check(self, host: str) -> HostPoll | None:
        """The HA liveness check."""
        return await self.failover.check(host, self.light_timeout)

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return self.failover.fence_commands(host, expiry_s)

    def unfence_commands(self, host: str) -> list[str]:
        return self.failover.unfence_commands(host)

    async def fence(self, host: str, expiry_s: float) -> None:
        await self.failover.fence(host, expiry_s)

    async def unfence(self, host: str) -> None:
        await self.failover.unfence(host)

    async def is_fenced(self, host: str) -> bool:
        return await self.failover.is_fenced(host)

    async def fenced_now(self, host: str) -> str:
        return await self.failover.fenced_now(host)

    def power_off_commands(self, host: str) -> list[str]:
        return self.failover.power_off_commands(host)

    async def power_off(self, host: str) -> None:
        await self.failover.power_off(host)

    async def osds_up(self, host: str) -> bool | None:
        return await self.failover.osds_up(host)

    async def clear_self_fenced(self, host: str) -> None:
        await self.failover.clear_self_fenced(host)

    def restart_commands(self, vm: str, target: str) -> list[str]:
        return self.failover.restart_commands(vm, target)

    async def define_on(self, vm: str, lost: str, target: str) -> None:
        await self.failover.define_on(vm, lost, target, self.check_timeout)

    async def state_on(self, vm: str, host: str) -> PowerState | None:
        return await self.failover.state_on(vm, host)

    async def start_on(self, vm: str, host: str) -> None:
        await self.failover.start_on(vm, host)

    def remove_commands(self, vm: str, host: str) -> list[str]:
        return self.failover.remove_commands(vm, host)

    async def remove_copy(self, vm: str, host: str) -> None:
        await self.failover.remove_copy(vm, host)

    async def running_on(self, vm: str) -> list[str]:
        return await self.failover.running_on(vm, self.check_timeout)

    async def room_for(self, vm: str, host: str) -> str:
        return await self.failover.room_for(vm, host, self.light_timeout)
