"""RealBackend's liveness checks for HA: failover's own libvirt connections (so a check never
queues behind a poll stalled on a VM's storage), a light check that keeps a copy of every
VM's definition, and the host's marker files (maintenance, self-fence). Mixed into
RealBackend."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.host_commands import MAINTENANCE
from mvm_tui.backends.libvirt import LibvirtHost
from mvm_tui.backends.libvirt import failover as lv_failover
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.events import EventHandler
from mvm_tui.backends.libvirt.failover import KeptDefinitions
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.backends.ssh import SshPool
from mvm_tui.backends.ssh.errors import HostKeyChanged, HostKeyUnknown
from mvm_tui.clock import within
from mvm_tui.models import HostPoll

if TYPE_CHECKING:
    from mvm_tui.backends.libvirt import LibvirtNode
    from mvm_tui.backends.real_options import HostInfo, RealOptions

SELF_FENCED = PurePosixPath("/run/mvm-tui/selffenced")  # VMs mvm-selffence killed, one a line
NO_MAJORITY = PurePosixPath("/run/mvm-tui/nomajority")  # while mvm-selffence kills what runs


class HaMarkers(NamedTuple):
    """What a host's marker files say, as HostPoll fields."""

    maintenance: bool
    self_fenced: tuple[str, ...]
    self_fence_active: bool


class RealChecks:
    """Declared here, held by RealBackend."""

    ssh: SshPool
    options: RealOptions
    kept: KeptDefinitions
    _apart: LibvirtApart | None
    _clock: Callable[[], float]
    _ha_hosts: dict[str, LibvirtCalls]
    _check_states: dict[str, Resident[lv_failover.CheckState]]
    _forget: dict[str, set[str]]
    _received: dict[str, tuple[str, int]]
    _where: dict[str, str]
    _silent: set[str]

    def _node(self, host: str) -> LibvirtNode:
        raise NotImplementedError

    async def host_info(self, host: str) -> HostInfo:
        raise NotImplementedError

    @property
    def libvirt_crashes(self) -> int:
        """How many times libvirt's process died and was started again."""
        return 0 if self._apart is None else self._apart.crashes

    def _libvirt_host(self, name: str, uri: str, *, on_event: EventHandler | None = None,
                      before_open: Callable[[], Awaitable[None]] | None = None,
                      track_changes: bool = True) -> LibvirtCalls:
        """A connection to a host's libvirtd: in libvirt's own process (options.libvirt_apart)
        or in this one. track_changes: its domains' change events are registered (for the
        poll's cache of domain XML; HA's checks have their own and need no more round trips
        at each connect)."""
        timeout, keepalive = self.options.libvirt_connect_timeout, self.options.keepalive
        if self._apart is not None:
            return self._apart.host(name, uri, connect_timeout=timeout, keepalive=keepalive,
                                    on_event=on_event, before_open=before_open,
                                    track_changes=track_changes)
        return LibvirtHost(name, uri, connect_timeout=timeout, keepalive=keepalive,
                           on_event=on_event, before_open=before_open,
                           track_changes=track_changes)

    def ha_host(self, host: str) -> LibvirtCalls:
        """Failover's libvirt connection to the host."""
        conn = self._ha_hosts.get(host)
        if conn is None:
            main = self._node(host).host
            conn = self._ha_hosts[host] = self._libvirt_host(
                host, main.uri, before_open=main.before_open, track_changes=False)
        return conn

    async def check_host(self, host: str, timeout: float) -> HostPoll | None:
        """A liveness check: the host's VMs (light, no stats) and maintenance flag when
        libvirt answers within timeout; None when only SSH does (libvirtd down or restarting
        while its VMs run on). Raises BackendError when neither answers."""
        now = self._clock()
        state = self._check_states.setdefault(host, Resident(lv_failover.CheckState))
        forget, self._forget[host] = tuple(self._forget.get(host, ())), set()

        async def inventory() -> HostPoll:
            try:
                done = await self.ha_host(host).run(partial(
                    lv_failover.checked, host=host, now=now, state=state,
                    received=self._received.get(host, ("", 0)), forget=forget), "check")
            except BaseException:
                self._forget.setdefault(host, set()).update(forget)  # (next check then)
                raise
            for _, kept in done.taken:
                self.kept.put(kept)
            if done.taken:
                self._received[host] = (done.life, done.taken[-1][0])
            return done.poll

        async def over_ssh() -> HaMarkers:
            await self.host_info(host)  # once: its CRUSH name, for osds_up
            return await self._ha_markers(host)

        poll, marker = await asyncio.gather(
            within(inventory(), timeout),
            within(over_ssh(), timeout), return_exceptions=True)
        if isinstance(poll, BaseException) and isinstance(marker, HostKeyUnknown
                                                          | HostKeyChanged):
            raise marker  # its sshd answered: up, but not to be trusted with a check
        if isinstance(poll, BaseException) and isinstance(marker, BaseException):
            self._silent.add(host)
            raise BackendError(f"{host}: neither libvirt nor SSH answered within {timeout:g} s "
                               f"({poll or type(poll).__name__})")
        self._silent.discard(host)
        if isinstance(poll, BaseException):
            return None
        for vm in poll.vms:
            self._where[vm.name] = host
        if isinstance(marker, BaseException):
            return poll
        return poll.model_copy(update=marker._asdict())

    async def _ha_markers(self, host: str) -> HaMarkers:
        """In one command: whether the host is in maintenance, the VMs its self-fence
        killed that HA has not cleared yet, and whether that self-fence is active now."""
        script = (f"test -e {MAINTENANCE} && echo maintenance; "
                  f"test -e {NO_MAJORITY} && echo nomajority; "
                  f"cat {SELF_FENCED} 2>/dev/null | sed 's/^/killed /'; true")
        out = (await self.ssh.run(host, ["sh", "-c", script])).stdout.splitlines()
        killed = tuple(dict.fromkeys(line.split(" ", 1)[1].strip() for line in out
                                     if line.startswith("killed ") and line[7:].strip()))
        return HaMarkers("maintenance" in out, killed, "nomajority" in out)

    async def clear_self_fenced(self, host: str) -> None:
        await self.ssh.run(host, ["rm", "-f", str(SELF_FENCED)], sudo=True)

    def placed(self, vm: str, host: str) -> None:
        """Failover started the VM on `host` (the old host may not answer to say so)."""
        self._where[vm] = host
