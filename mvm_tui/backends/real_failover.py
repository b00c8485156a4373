"""Failover on real HCI clusters: fence by blocklisting the lost host's Ceph clients (from
another host), restart its VMs elsewhere from the copies of their definitions kept by the
light checks, and remove the stale copies a returned host still has, before it is unfenced.

Everything goes over failover's own libvirt connections (RealBackend.ha_host), so it never
waits behind an inventory poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any, Protocol

from mvm_tui.backends.base import BackendError, HostRef, InvalidState
from mvm_tui.backends.capabilities import StateStore
from mvm_tui.backends.ipmi import Ipmi
from mvm_tui.backends.libvirt import failover as lv
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.backends.libvirt.power import power_commands
from mvm_tui.clock import within
from mvm_tui.config import ClusterConfig
from mvm_tui.core.placement import room_left
from mvm_tui.models import HostPoll, PowerAction, PowerState


class FailoverHosts(Protocol):
    """What RealFailover uses of RealBackend (which builds it: no import back)."""

    hosts: tuple[HostRef, ...]
    kept: lv.KeptDefinitions

    def ha_host(self, host: str) -> LibvirtCalls: ...
    async def check_host(self, host: str, timeout: float) -> HostPoll | None: ...
    def fence_commands(self, host: str, expiry_s: int) -> list[str]: ...
    def unfence_commands(self, host: str) -> list[str]: ...
    async def fence(self, host: str, expiry_s: int) -> None: ...
    async def unfence(self, host: str) -> None: ...
    async def is_fenced(self, host: str) -> bool: ...
    async def osds_up(self, host: str) -> bool | None: ...
    async def clear_self_fenced(self, host: str) -> None: ...
    def placed(self, vm: str, host: str) -> None: ...


def cluster_ipmi(cluster: ClusterConfig) -> Ipmi | None:
    """The cluster's IPMI power-off, when [clusters.ha] ipmi is on."""
    if not cluster.ha.ipmi:
        return None
    return Ipmi(cluster.ha.ipmitool, {h.name: (h.ipmi_address, h.ipmi_user)
                                      for h in cluster.hosts if h.ipmi_address is not None})


class RealFailover:
    self_fence_required = True

    def __init__(self, backend: FailoverHosts, ipmi: Ipmi | None = None) -> None:
        self.backend = backend
        self.ipmi = ipmi

    # -- HA's state keeps the definitions of the VMs it names

    def state_store(self) -> StateStore | None:
        return None  # HA keeps it in RADOS, next to its lease

    def with_kept(self, state: dict[str, Any]) -> dict[str, Any]:
        defs = {}
        for vm in state.get("vms", {}):
            kept = self.backend.kept.get(vm)
            if kept is not None:
                defs[vm] = {"host": kept.host, "taken": kept.taken, "xml": kept.xml}
        return {**state, "definitions": defs}

    def restore_kept(self, state: dict[str, Any]) -> None:
        for vm, d in state.get("definitions", {}).items():
            self.backend.kept.restore(vm, d["host"], float(d["taken"]), d["xml"])

    async def check(self, host: str, timeout: float) -> HostPoll | None:
        return await self.backend.check_host(host, timeout)

    # -- fencing

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return self.backend.fence_commands(host, max(1, int(expiry_s)))

    def unfence_commands(self, host: str) -> list[str]:
        return self.backend.unfence_commands(host)

    async def fence(self, host: str, expiry_s: float) -> None:
        await self.backend.fence(host, max(1, int(expiry_s)))

    async def unfence(self, host: str) -> None:
        await self.backend.unfence(host)

    async def is_fenced(self, host: str) -> bool:
        return await self.backend.is_fenced(host)

    def power_off_commands(self, host: str) -> list[str]:
        if self.ipmi is None:
            return [f"# {host}: no IPMI configured"]
        return self.ipmi.power_off_commands(host)

    async def power_off(self, host: str) -> None:
        if self.ipmi is None:
            raise BackendError("no IPMI configured: set [clusters.ha] ipmi and the hosts' "
                               "ipmi_address")
        await self.ipmi.power_off(host)

    async def osds_up(self, host: str) -> bool | None:
        return await self.backend.osds_up(host)

    async def clear_self_fenced(self, host: str) -> None:
        await self.backend.clear_self_fenced(host)

    async def fenced_now(self, host: str) -> str:
        """Blocklisted now (asked of Ceph). An IPMI power-off alone is not asked of the BMC:
        the fence run blocklists first, so a host never counts as fenced by IPMI only."""
        return "blocklisted" if await self.is_fenced(host) else ""

    async def running_on(self, vm: str, timeout: float) -> list[str]:
        """Every host that answers within the timeout and runs the VM (the lost host
        included: a "lost" host that answers again is asked too)."""
        return await self._active_on(vm, [h.name for h in self.backend.hosts], timeout)

    async def _active_on(self, vm: str, hosts: list[str], timeout: float) -> list[str]:
        async def active_on(host: str) -> bool:
            with contextlib.suppress(BackendError, TimeoutError):
                state = await within(self.state_on(vm, host), timeout)
                return state in lv.ACTIVE
            return False

        found = await asyncio.gather(*(active_on(h) for h in hosts))
        return [h for h, active in zip(hosts, found, strict=True) if active]

    async def room_for(self, vm: str, host: str, timeout: float) -> str:
        """From a fresh light check of the target: its live domains (an incoming migration's
        domain is listed there, paused, from the migration's start) and the VM's kept size."""
        poll = await self.check(host, timeout)
        if poll is None:
            return f"{host}'s libvirt does not answer"
        kept = self.backend.kept.get(vm)
        if kept is None:
            return f"no definition of {vm} was kept: its size is not known"
        spec = parse_domain(kept.xml)
        return room_left(poll, host, (spec.memory_mb, spec.vcpus))

    # -- restarts

    def _uri(self, host: str) -> str:
        return self.backend.ha_host(host).uri

    def restart_commands(self, vm: str, target: str) -> list[str]:
        return [*lv.define_commands(self._uri(target), self.backend.kept.get(vm), vm),
                *power_commands(self._uri(target), vm, PowerAction.START)]

    async def define_on(self, vm: str, lost: str, target: str, timeout: float) -> None:
        kept = self.backend.kept.get(vm)
        if kept is None:
            raise BackendError(f"no copy of {vm}'s definition was kept (it was never seen by a "
                               "check of this HA service): it cannot be defined elsewhere")
        # never a second copy: refuse when a reachable host other than the lost one and the
        # target runs the VM (hosts that do not answer in time are not waited for)
        others = [h.name for h in self.backend.hosts if h.name not in (lost, target)]
        found = await self._active_on(vm, others, timeout)
        if found:
            raise InvalidState(f"{vm} is running on {', '.join(found)}: not started on {target}")
        await self.backend.ha_host(target).run(partial(lv.define, xml=kept.xml),
                                               f"define {vm}")

    async def state_on(self, vm: str, host: str) -> PowerState | None:
        return await self.backend.ha_host(host).run(partial(lv.state, vm=vm),
                                                    f"look up {vm}")

    async def start_on(self, vm: str, host: str) -> None:
        await self.backend.ha_host(host).run(partial(lv.start, vm=vm), f"start {vm}")
        self.backend.placed(vm, host)

    def remove_commands(self, vm: str, host: str) -> list[str]:
        return lv.remove_commands(self._uri(host), vm)

    async def remove_copy(self, vm: str, host: str) -> None:
        await self.backend.ha_host(host).run(partial(lv.remove, vm=vm),
                                             f"remove the stale copy of {vm}")
