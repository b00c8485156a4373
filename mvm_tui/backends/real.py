"""RealBackend: a configured cluster's hosts, over SSH (commands, Ceph) and libvirt (VMs).

Per host: one pooled SSH connection (host facts, `ceph` commands) and one libvirt connection
(inventory, power, placement, migration). The first contact with a host goes over SSH, so an
unknown host key is met (and accepted or refused) there before libvirt connects with the same
known_hosts file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends import host_counters
from mvm_tui.backends.base import (
    BackendError,
    ClusterBackend,
    HostRef,
    InvalidState,
    NotFound,
)
from mvm_tui.backends.capabilities import CephAdmin
from mvm_tui.backends.host_commands import MAINTENANCE, maintenance_argvs, maintenance_commands
from mvm_tui.backends.libvirt import (
    LibvirtNode,
    LifecycleEvent,
)
from mvm_tui.backends.libvirt import failover as lv_failover
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.detach import detach_confirmed
from mvm_tui.backends.libvirt.errors import trust_hint
from mvm_tui.backends.libvirt.failover import KeptDefinitions
from mvm_tui.backends.libvirt.metadata import placement_commands
from mvm_tui.backends.libvirt.migrate import migrate_commands, move_cold
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.backends.libvirt.uri import migration_uri
from mvm_tui.backends.reach import libvirt_uri, ssh_target
from mvm_tui.backends.real_ceph import RealCeph
from mvm_tui.backends.real_checks import RealChecks
from mvm_tui.backends.real_consoles import RealConsoles
from mvm_tui.backends.real_failover import RealFailover, cluster_ipmi
from mvm_tui.backends.real_options import HostInfo, RealOptions
from mvm_tui.backends.real_snapshots import RealSnapshots
from mvm_tui.backends.real_workloads import (
    RealWorkloads,
    guest_addresses_command,
    parse_guest_addresses,
)
from mvm_tui.backends.ssh import SshPool
from mvm_tui.backends.ssh.libvirt_tunnel import LibvirtTunnels
from mvm_tui.backends.ssh.pool import AskPassword, UnknownKeyPolicy
from mvm_tui.backends.ssh.shell import SshShells
from mvm_tui.clock import within
from mvm_tui.config import ClusterConfig
from mvm_tui.core.placement import LIVE
from mvm_tui.models import (
    HostPoll,
    Layout,
    MigrationProgress,
    Placement,
    PowerAction,
    PowerState,
    StopReason,
    Vm,
)


class RealBackend(RealChecks, RealCeph, ClusterBackend):
    def __init__(
        self,
        cluster: ClusterConfig,
        options: RealOptions | None = None,
        *,
        ask_password: AskPassword | None = None,
        unknown_key: UnknownKeyPolicy | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.options = options = options or RealOptions()
        self.name = cluster.name
        self.layout = cluster.layout
        self.hosts = tuple(HostRef(h.name, h.address) for h in cluster.hosts)
        self.ssh = SshPool(
            [ssh_target(cluster, h.name) for h in cluster.hosts], options.ssh,
            ask_password=ask_password, unknown_key=unknown_key,
        )
        self._clock = clock or time.time
        self._tunnels = LibvirtTunnels(self.ssh)  # (hosts behind a bastion)
        self._apart = LibvirtApart(cluster.name) if options.libvirt_apart else None
        self.nodes = {
            h.name: LibvirtNode(self._libvirt_host(
                h.name, self._tunnels.uri(h.name) if h.proxy_jump
                else libvirt_uri(cluster, h.name, options.libvirt_transport),
                on_event=self._libvirt_event,
                before_open=partial(self._tunnels.ensure, h.name) if h.proxy_jump else None,
            ), clock=self._clock)
            for h in cluster.hosts
        }
        # how each host's libvirtd is reached by a peer's for a migration (peer to peer: with
        # the source host's own key, not the jump box's)
        self.migration_uris = {h.name: migration_uri(h.user, h.address, h.port)
                               for h in cluster.hosts}
        # failover's own connections (opened on first use), so its checks and restarts never
        # queue behind a poll stalled on a VM's storage; and its copies of VM definitions
        self._ha_hosts: dict[str, LibvirtCalls] = {}
        self.kept = KeptDefinitions()
        # host -> its light checks' state (where libvirt runs), and the VMs they must read
        # again (this process changed them)
        self._check_states: dict[str, Resident[lv_failover.CheckState]] = {}
        self._forget: dict[str, set[str]] = {}
        self._received: dict[str, tuple[str, int]] = {}  # host -> its last definition got
        self._info: dict[str, HostInfo] = {}
        self._where: dict[str, str] = {}  # VM -> host, from the latest polls
        self._storage: dict[str, tuple[float, float]] = {}  # CRUSH host -> (total, used) GB
        self._changed: Callable[[str], None] | None = None
        self._stats: dict[str, asyncio.Future[HostPoll]] = {}  # libvirt polls in flight
        self._last: dict[str, HostPoll] = {}
        self._answered: str | None = None  # the host _on_any_host reached last
        self._silent: set[str] = set()  # hosts whose last liveness check got no answer
        self._fenced: set[str] = set()  # hosts this process blocklisted (not unfenced since)
        self._counters = {h.name: host_counters.CounterTracker() for h in cluster.hosts}
        self._failover = (RealFailover(self, cluster_ipmi(cluster))
                          if self.layout is Layout.HCI else None)
        self._workloads = (RealWorkloads(self, cluster.ha.lock_pool)
                           if self.layout is Layout.HCI else None)
        self._shells = SshShells(self.ssh)
        self._snapshots = RealSnapshots(self) if self.layout is Layout.HCI else None
        self._consoles = RealConsoles(self.vm_info, lambda host: self._node(host).host, self.ssh)

    def ceph_admin(self) -> CephAdmin | None:
        return self if self.layout is Layout.HCI else None

    def workloads(self) -> RealWorkloads | None:
        return self._workloads

    def snapshots(self) -> RealSnapshots | None:
        return self._snapshots

    def consoles(self) -> RealConsoles:
        return self._consoles

    def shells(self) -> SshShells:
        return self._shells

    def failover(self) -> RealFailover | None:
        """On HCI clusters only: fencing blocklists a host's Ceph clients."""
        return self._failover

    def watch(self, changed: Callable[[str], None]) -> None:
        self._changed = changed

    async def _libvirt_event(self, event: LifecycleEvent) -> None:
        if self._changed is not None:
            self._changed(event.host)

    def _node(self, host: str) -> LibvirtNode:
        try:
            return self.nodes[host]
        except KeyError:
            raise NotFound(f"host {host} is not in cluster {self.name}") from None

    async def host_info(self, host: str) -> HostInfo:
        info = self._info.get(host)
        if info is None:
            name = await self.ssh.run(host, ["hostname", "-s"], timeout=10)
            release = await self.ssh.run(host, ["cat", "/etc/os-release"], timeout=10)
            info = HostInfo(name.stdout.strip(), _pretty_name(release.stdout))
            self._info[host] = info
        return info

    # -- ClusterBackend --------------------------------------------------------------------

    async def poll_host(self, host: str) -> HostPoll:
        info = await self.host_info(host)
        poll, (rates, maintenance) = await asyncio.gather(self._vm_stats(host),
                                                          self._host_counters(host))
        for vm in poll.vms:
            self._where[vm.name] = host
        update: dict[str, object] = {"os": info.os}
        if info.hostname in self._storage:
            total, used = self._storage[info.hostname]
            update |= {"storage_gb": round(total, 2), "storage_used_gb": round(used, 2)}
        metrics = poll.metrics.model_copy(update={
            "net_rx_bps": rates.net_rx_bps, "net_tx_bps": rates.net_tx_bps,
            "disk_rd_bps": rates.disk_rd_bps, "disk_wr_bps": rates.disk_wr_bps,
            "net_devices": rates.interfaces, "disk_devices": rates.disks})
        return poll.model_copy(update={
            "facts": poll.facts.model_copy(update=update), "metrics": metrics,
            "maintenance": maintenance})

    async def _host_counters(self, host: str) -> tuple[host_counters.HostRates, bool]:
        """The host's own network and disk rates since its previous poll, and whether it is
        in maintenance: one command over its pooled SSH connection."""
        result = await self.ssh.run(host, host_counters.command(MAINTENANCE), timeout=10)
        counters = host_counters.parse(result.stdout)
        tracker = self._counters.setdefault(host, host_counters.CounterTracker())
        return tracker.rates(time.monotonic(), counters), counters.maintenance

    async def _vm_stats(self, host: str) -> HostPoll:
        """The host's libvirt poll; one at a time per host (a stalled one is not queued
        behind). Past stats_deadline, the last poll if the host still answers over SSH."""
        task = self._stats.get(host)
        if task is None or task.done():
            task = self._stats[host] = asyncio.ensure_future(self._node(host).poll())
            # (its caller may have given up past the deadline: nobody else sees a failure)
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            poll = await within(asyncio.shield(task), self.options.stats_deadline)
        except TimeoutError:
            last = self._last.get(host)
            if last is None:
                raise BackendError(f"{host}: libvirt gave no VM stats within "
                                   f"{self.options.stats_deadline:g} s") from None
            await self.ssh.run(host, ["true"], timeout=self.options.stats_deadline)
            return last
        self._last[host] = poll
        return poll

    async def vm_info(self, vm: str) -> Vm:
        host = self._where.get(vm)
        if host is not None:
            try:
                return await self.nodes[host].vm_info(vm)
            except NotFound:
                pass
        for name, node in self.nodes.items():  # moved, or not seen yet
            if name == host:
                continue
            try:
                found = await node.vm_info(vm)
            except BackendError:
                continue
            self._where[vm] = name
            return found
        raise NotFound(f"VM {vm} is not defined on any reachable host of {self.name}")

    def power_commands(self, vm: Vm, action: PowerAction) -> list[str]:
        return self._node(self._defined_on(vm)).power_commands(vm.name, action)

    async def vm_power(self, vm: Vm, action: PowerAction) -> None:
        fresh = await self.vm_info(vm.name)
        assert fresh.host is not None
        await self._node(fresh.host).power(vm.name, action)

    async def vm_stop_reason(self, vm: str) -> StopReason | None:
        fresh = await self.vm_info(vm)  # where it is defined now
        assert fresh.host is not None
        return await self._node(fresh.host).stop_reason(vm)

    async def guest_addresses(self, vm: str) -> tuple[str, ...] | None:
        fresh = await self.vm_info(vm)
        if fresh.host is None or fresh.power is not PowerState.RUNNING:
            return None
        r = await self.as_root(fresh.host, guest_addresses_command(vm))
        return parse_guest_addresses(r.stdout) if r.exit_status == 0 else None

    async def put_file(self, host: str, local: Path, remote: str,
                       progress: Callable[[int, int], None] | None = None) -> None:
        await self.ssh.put(host, local, remote, progress)

    async def detach_live(self, host: str, vm: str, xml: str, alias: str,
                          timeout: float) -> bool:
        return await self._node(host).host.run(partial(
            detach_confirmed, vm=vm, xml=xml, alias=alias, timeout=timeout),
            f"detach {alias} from {vm}")

    def _defined_on(self, vm: Vm) -> str:
        host = self._where.get(vm.name, vm.host)
        if host is None:
            raise NotFound(f"VM {vm.name} is not defined on any host")
        return host

    def _migrate_command(self, vm: Vm, dest: str, *, offline: bool) -> list[str]:
        source = self._node(self._defined_on(vm))
        self._node(dest)
        return migrate_commands(source.uri, vm.name, self.migration_uris[dest], offline=offline)

    def migrate_commands(self, vm: Vm, dest: str) -> list[str]:
        return self._migrate_command(vm, dest, offline=False)

    async def migrate(
        self,
        vm: str,
        dest: str,
        on_progress: Callable[[MigrationProgress], None] | None = None,
        *,
        unsafe: bool = False,
    ) -> None:
        """Live-migrate a running VM to `dest` (peer to peer); the last report has the
        downtime. unsafe: allow disks libvirt cannot prove are shared (files on NFS, say)."""
        current = await self.vm_info(vm)
        assert current.host is not None
        source, target = self._node(current.host), self._node(dest)
        try:
            await source.migrate(vm, target, dest_uri=self.migration_uris[dest],
                                 unsafe=unsafe, on_progress=on_progress)
        except BackendError as exc:
            raise trust_hint(exc, current.host, dest) from exc
        self._where[vm] = dest  # its last report (with the downtime) came from migrate()

    def relocate_commands(self, vm: Vm, dest: str) -> list[str]:
        return self._migrate_command(vm, dest, offline=True)

    async def relocate(self, vm: str, dest: str) -> None:
        """An offline peer-to-peer migration: the definition moves, the VM stays off."""
        current = await self.vm_info(vm)
        if current.power is not PowerState.SHUTOFF:
            raise InvalidState(f"{vm} is {current.power} on {current.where}: only a shut-off VM "
                               "is moved cold")
        assert current.host is not None
        self._node(dest)
        target_uri = self.migration_uris[dest]
        flags = (libvirt.VIR_MIGRATE_OFFLINE | libvirt.VIR_MIGRATE_PEER2PEER
                 | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
        try:
            await self._node(current.host).host.run(
                partial(move_cold, vm=vm, dest_uri=target_uri, flags=flags),
                f"move {vm} to {dest}")
        except BackendError as exc:
            raise trust_hint(exc, current.host, dest) from exc
        self._where[vm] = dest

    def placement_commands(self, vm: Vm, placement: Placement, home_host: str | None
                           ) -> list[str]:
        uri = self._node(self._defined_on(vm)).uri
        return placement_commands(uri, vm.name, placement, home_host, running=vm.power in LIVE,
                                  priority=vm.priority)

    async def set_placement(self, vm: str, placement: Placement, home_host: str | None) -> None:
        current = await self.vm_info(vm)
        assert current.host is not None
        await self._node(current.host).set_placement(vm, placement, home_host)
        for host in self._check_states:  # HA's checks read it again at once
            self._forget.setdefault(host, set()).add(vm)

    def maintenance_commands(self, host: str, on: bool) -> list[str]:
        self._node(host)
        return maintenance_commands(host, on)

    async def set_maintenance(self, host: str, on: bool) -> None:
        """A marker file on the host itself, so every jump box (and HA service) sees it."""
        self._node(host)
        for argv in maintenance_argvs(on):
            await self.ssh.run(host, argv, sudo=True)

    async def close(self) -> None:
        for task in self._stats.values():
            task.cancel()
        await asyncio.gather(*(node.close() for node in self.nodes.values()),
                             *(h.close() for h in self._ha_hosts.values()),
                             return_exceptions=True)
        if self._apart is not None:
            await self._apart.close()
        await self._tunnels.close()
        await self.ssh.close()


def _pretty_name(os_release: str) -> str:
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"')
    return ""

