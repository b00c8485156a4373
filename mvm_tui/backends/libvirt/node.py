"""LibvirtNode: everything the backend does with one host's libvirtd, as async calls.

It puts together the connection (LibvirtHost), the rates' memory (StatsTracker) and the
blocking functions of inventory, power, metadata and migrate. All of them return the same
kinds of values as the simulator: HostPoll, Vm, MigrationProgress, and raise HostUnreachable,
NotFound, InvalidState or BackendError.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from mvm_tui.backends.libvirt import inventory, metadata, migrate, power
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.domcache import DomainCache
from mvm_tui.backends.libvirt.handles import note_change
from mvm_tui.backends.libvirt.inventory import NodeFacts
from mvm_tui.backends.libvirt.metadata import PlacementData
from mvm_tui.backends.libvirt.poll_reply import LastSent, PollReply
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.backends.libvirt.stats import StatsTracker
from mvm_tui.models import (
    HostPoll,
    MigrationProgress,
    Placement,
    PowerAction,
    StopReason,
    Vm,
)


class LibvirtNode:
    def __init__(
        self,
        host: LibvirtCalls,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        incremental: bool = True,
    ) -> None:
        self.host = host
        self.tracker = Resident(StatsTracker)  # (kept where libvirt runs)
        # every domain's parsed XML between polls, and the VMs last sent: only what changed
        # is read and sent (False: everything at every poll, as before issue 16; for bench/)
        self.domains = Resident(DomainCache) if incremental else None
        self.sent = Resident(LastSent) if incremental else None
        self._received_token = ""  # of the last poll reply received, and its VMs
        self._received_vms: dict[str, Vm] = {}
        self._clock = clock
        self._monotonic = monotonic

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def uri(self) -> str:
        return self.host.uri

    async def facts(self) -> NodeFacts:
        return await self.host.run(inventory.read_facts, "facts")

    async def poll(self) -> HostPoll:
        """Facts, load and VMs. The rates are over the interval since the previous poll (0
        on the first); the metrics' time is the clock's at the start of the poll."""
        known, last = self._received_token, self._received_vms
        reply = await self.host.run(partial(
            _poll, host=self.name, tracker=self.tracker, domains=self.domains,
            sent=self.sent, known=known, now=self._clock(), t=self._monotonic()), "poll")
        poll = reply.whole(last)
        self._received_token = reply.token
        self._received_vms = {v.uuid: v for v in poll.vms}
        return poll

    async def vm_info(self, vm: str) -> Vm:
        return await self.host.run(partial(
            _read_vm, vm=vm, host=self.name, tracker=self.tracker, t=self._monotonic()),
            f"look up {vm}")

    def power_commands(self, vm: str, action: PowerAction) -> list[str]:
        return power.power_commands(self.uri, vm, action)

    async def power(self, vm: str, action: PowerAction) -> None:
        """Ask for a power action; raises InvalidState when it does not apply."""
        await self.host.run(partial(power.apply_power, name=vm, action=action),
                            f"{action.value} {vm}")

    async def stop_reason(self, vm: str) -> StopReason | None:
        """Why the VM is shut off or crashed (libvirt's state reason); None while it runs."""
        return await self.host.run(partial(power.read_stop_reason, name=vm),
                                   f"read the state of {vm}")

    async def placement(self, vm: str) -> PlacementData:
        return await self.host.run(partial(_read_placement, vm=vm),
                                   f"read the placement of {vm}")

    async def set_placement(self, vm: str, placement: Placement, home_host: str | None) -> None:
        metadata.check_home_host(home_host)
        await self.host.run(partial(_write_placement, vm=vm, placement=placement,
                                    home_host=home_host), f"set the placement of {vm}")

    async def migrate(
        self,
        vm: str,
        dest: LibvirtNode,
        *,
        dest_uri: str | None = None,
        unsafe: bool = False,
        params: Mapping[str, Any] | None = None,
        on_progress: Callable[[MigrationProgress], None] | None = None,
        interval: float = 1.0,
        stall_s: float = migrate.STALL_S,
    ) -> MigrationProgress:
        """Live-migrate `vm` to `dest`. dest_uri is how the source host reaches the
        destination's libvirtd (peer-to-peer); by default the one this application uses."""
        return await migrate.migrate(
            self.host,
            vm,
            dest_uri or dest.uri,
            dest_name=dest.name,
            dest=dest.host,
            unsafe=unsafe,
            params=params,
            on_progress=on_progress,
            interval=interval,
            stall_s=stall_s,
        )

    async def close(self) -> None:
        await self.host.close()


# -- run where libvirt runs (LibvirtHost.run): plain functions, sent by reference


def _poll(conn: Any, host: str, tracker: Resident[StatsTracker],
          domains: Resident[DomainCache] | None, sent: Resident[LastSent] | None, known: str,
          now: float, t: float) -> PollReply:
    poll = inventory.collect(conn, host, tracker.get(), now, t,
                             domains.get() if domains is not None else None)
    if sent is None:
        return PollReply("", poll, tuple(poll.vms))
    return sent.get().reply(poll, known)


def _read_vm(conn: Any, vm: str, host: str, tracker: Resident[StatsTracker], t: float) -> Vm:
    return inventory.read_vm(conn, vm, host, tracker.get(), t)


def _read_placement(conn: Any, vm: str) -> PlacementData:
    return metadata.read_placement(conn.lookupByName(vm))


def _write_placement(conn: Any, vm: str, placement: Placement, home_host: str | None) -> None:
    dom = conn.lookupByName(vm)
    metadata.write_placement(dom, placement, home_host)
    note_change(conn, dom)  # the next poll reads its XML again, without waiting for the event
