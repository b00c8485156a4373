"""RealBackend: a configured cluster's hosts, over SSH (commands, Ceph) and libvirt (VMs).

Per host: one pooled SSH connection (host facts, `ceph` commands) and one libvirt connection
(inventory, power, placement, migration). The first contact with a host goes over SSH, so an
unknown host key is met (and accepted or refused) there before libvirt connects with the same
known_hosts file.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePosixPath
from typing import NamedTuple, TypeVar

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends import ceph, host_counters
from mvm_tui.backends.base import (
    BackendError,
    ClusterBackend,
    HostRef,
    InvalidState,
    NotFound,
)
from mvm_tui.backends.capabilities import CephAdmin, CliResult, UnitAction
from mvm_tui.backends.host_commands import MAINTENANCE, maintenance_argvs, maintenance_commands
from mvm_tui.backends.libvirt import (
    KeepAlive,
    LibvirtHost,
    LibvirtNode,
    LifecycleEvent,
)
from mvm_tui.backends.libvirt import failover as lv_failover
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.errors import trust_hint
from mvm_tui.backends.libvirt.events import EventHandler
from mvm_tui.backends.libvirt.failover import KeptDefinitions
from mvm_tui.backends.libvirt.metadata import placement_commands
from mvm_tui.backends.libvirt.migrate import migrate_commands, move_cold
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.backends.libvirt.uri import DEFAULT_TRANSPORT, Transport, migration_uri
from mvm_tui.backends.reach import libvirt_uri, ssh_target
from mvm_tui.backends.real_failover import RealFailover, cluster_ipmi
from mvm_tui.backends.ssh import SshOptions, SshPool
from mvm_tui.backends.ssh.errors import HostKeyChanged, HostKeyUnknown
from mvm_tui.backends.ssh.libvirt_tunnel import LibvirtTunnels
from mvm_tui.backends.ssh.pool import AskPassword, UnknownKeyPolicy
from mvm_tui.config import ClusterConfig
from mvm_tui.core.placement import LIVE
from mvm_tui.models import (
    CephStatus,
    HostPoll,
    Layout,
    MigrationProgress,
    Placement,
    PowerAction,
    PowerState,
    StopReason,
    Vm,
)

GB = 1e9
SELF_FENCED = PurePosixPath("/run/mvm-tui/selffenced")  # VMs mvm-selffence killed, one a line
NO_MAJORITY = PurePosixPath("/run/mvm-tui/nomajority")  # while mvm-selffence kills what runs
CEPH_UNIT = re.compile(r"ceph-(osd|mon|mgr)@[A-Za-z0-9_.-]+")
T = TypeVar("T")


class HaMarkers(NamedTuple):
    """What a host's marker files say, as HostPoll fields."""

    maintenance: bool
    self_fenced: tuple[str, ...]
    self_fence_active: bool


@dataclass(frozen=True)
class RealOptions:
    ssh: SshOptions = field(default_factory=SshOptions)
    libvirt_connect_timeout: float = 15.0
    keepalive: KeepAlive = field(default_factory=KeepAlive)
    libvirt_transport: Transport = DEFAULT_TRANSPORT
    ceph_timeout: float = 20.0
    # libvirt's VM stats wait for each qemu's monitor, which stalls while the VM's storage
    # does (an RBD disk whose OSD host just went away): past this, the host is shown with
    # its last VMs if it still answers over SSH, rather than declared unreachable
    stats_deadline: float = 5.0
    # libvirt's client runs in a process of its own (backends/libvirt/apart.py): a crash in
    # it never takes this one down
    libvirt_apart: bool = True


@dataclass
class HostInfo:
    hostname: str  # as Ceph names the host's CRUSH bucket (`hostname -s`)
    os: str


class RealBackend(ClusterBackend):
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

    def ceph_admin(self) -> CephAdmin | None:
        return self if self.layout is Layout.HCI else None

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
            poll = await asyncio.wait_for(asyncio.shield(task), self.options.stats_deadline)
        except TimeoutError:
            last = self._last.get(host)
            if last is None:
                raise BackendError(f"{host}: libvirt gave no VM stats within "
                                   f"{self.options.stats_deadline:g} s") from None
            await self.ssh.run(host, ["true"], timeout=self.options.stats_deadline)
            return last
        self._last[host] = poll
        return poll

    async def ceph_status(self) -> CephStatus | None:
        if self.layout is not Layout.HCI:
            return None

        async def read(host: str) -> CephStatus:
            status = await self._ceph(host, ceph.commands.status(), ceph.parse_status)
            tree = await self._ceph(host, ceph.commands.osd_df_tree(), ceph.parse_osd_df_tree)
            self._storage = {
                node.name: (node.kb * 1024 / GB, node.kb_used * 1024 / GB)
                for node in tree.nodes
                if node.type == "host"
            }
            return status

        return await self._on_any_host(read)

    async def _on_any_host(
        self, do: Callable[[str], Awaitable[T]], exclude: str | None = None
    ) -> T:
        """`do` on the first host that answers (any host has a monitor and an admin keyring
        on HCI), skipping `exclude`."""
        problems = []
        # the host that answered last first, hosts whose last check failed last: a call to a
        # host that is down waits for its timeout
        # (and hosts this process fenced: their clients are refused by the OSDs)
        order = sorted(self.hosts, key=lambda h: (h.name in self._silent,
                                                  h.name in self._fenced,
                                                  h.name != self._answered))
        for h in order:
            if h.name == exclude:
                continue
            try:
                result = await do(h.name)
            except BackendError as exc:
                problems.append(str(exc))
                continue
            self._answered = h.name
            return result
        raise BackendError("ceph: no host answered: " + "; ".join(problems))

    # -- failover: light checks, Ceph's view of a host, VMs defined from kept copies ---------

    @property
    def libvirt_crashes(self) -> int:
        """How many times libvirt's process died and was started again."""
        return 0 if self._apart is None else self._apart.crashes

    def _libvirt_host(self, name: str, uri: str, *, on_event: EventHandler | None = None,
                      before_open: Callable[[], Awaitable[None]] | None = None
                      ) -> LibvirtCalls:
        """A connection to a host's libvirtd: in libvirt's own process (options.libvirt_apart)
        or in this one."""
        timeout, keepalive = self.options.libvirt_connect_timeout, self.options.keepalive
        if self._apart is not None:
            return self._apart.host(name, uri, connect_timeout=timeout, keepalive=keepalive,
                                    on_event=on_event, before_open=before_open)
        return LibvirtHost(name, uri, connect_timeout=timeout, keepalive=keepalive,
                           on_event=on_event, before_open=before_open)

    def ha_host(self, host: str) -> LibvirtCalls:
        """Failover's libvirt connection to the host."""
        conn = self._ha_hosts.get(host)
        if conn is None:
            main = self._node(host).host
            conn = self._ha_hosts[host] = self._libvirt_host(
                host, main.uri, before_open=main.before_open)
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
            asyncio.wait_for(inventory(), timeout),
            asyncio.wait_for(over_ssh(), timeout), return_exceptions=True)
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

    async def osds_up(self, host: str) -> bool | None:
        """Whether Ceph (asked on another host) sees any OSD of the host up; None when that
        is not known (no Ceph, the host's CRUSH name not learnt yet, or no OSD on it)."""
        info = self._info.get(host)
        if self.layout is not Layout.HCI or info is None:
            return None
        tree = await self._on_any_host(
            lambda h: self._ceph(h, ceph.commands.osd_tree(), ceph.parse_osd_tree),
            exclude=host)
        osds = tree.osds_on(info.hostname)
        if not osds:
            return None
        return any((n := tree.node(o)) is not None and n.status == "up" for o in osds)

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        """A command (as root) on the first host that answers; its exit status is returned,
        not checked (`rados lock get` says so when the lock is held), unless the host's own
        client is refused or stuck (it is blocklisted: fenced): then the next host's."""
        async def run(host: str) -> CliResult:
            r = await self.ssh.run(host, list(argv), sudo=True, check=False,
                                   timeout=self.options.ceph_timeout)
            if ceph.client_refused(r.exit_status, r.stderr):
                raise BackendError(f"{host}: {argv[0]}: " + (r.stderr.strip() or "timed out"))
            return CliResult(r.exit_status, r.stdout, r.stderr)

        return await self._on_any_host(run)

    async def systemctl(self, host: str, action: UnitAction, unit: str) -> CliResult:
        if not CEPH_UNIT.fullmatch(unit):
            raise InvalidState(f"not a Ceph daemon unit: {unit!r}")
        r = await self.ssh.run(host, ["systemctl", action, unit], sudo=True, check=False,
                               timeout=self.options.ceph_timeout)
        return CliResult(r.exit_status, r.stdout, r.stderr)

    async def crush_name(self, host: str) -> str:
        return (await self.host_info(host)).hostname

    async def mon_host(self, host: str) -> str:
        r = await self.ssh.run(host, ceph.commands.mon_host_lookup(), sudo=True,
                               timeout=self.options.ceph_timeout)
        return r.stdout.strip()

    async def set_mon_host(self, host: str, value: str) -> None:
        try:
            argv = ceph.commands.set_mon_host(value)
        except ValueError as exc:
            raise InvalidState(str(exc)) from None
        await self.ssh.run(host, argv, sudo=True, timeout=self.options.ceph_timeout)

    def placed(self, vm: str, host: str) -> None:
        """Failover started the VM on `host` (the old host may not answer to say so)."""
        self._where[vm] = host

    # -- fencing: a lost host's Ceph clients are blocklisted, so its VMs cannot write -------

    def _client_addr(self, host: str) -> str:
        self._node(host)
        address = next(h.address for h in self.hosts if h.name == host)
        return f"{address}:0/0"  # every client of that address

    def fence_commands(self, host: str, expiry_s: int) -> list[str]:
        return [shlex.join(ceph.commands.osd_blocklist_add(self._client_addr(host), expiry_s))]

    async def fence(self, host: str, expiry_s: int) -> None:
        """Blocklist the host's Ceph clients for expiry_s, from another host."""
        argv = ceph.commands.osd_blocklist_add(self._client_addr(host), expiry_s)
        await self._on_any_host(lambda h: self.ssh.run(h, argv, sudo=True), exclude=host)
        self._fenced.add(host)

    def unfence_commands(self, host: str) -> list[str]:
        return [shlex.join(ceph.commands.osd_blocklist_rm(self._client_addr(host)))]

    async def unfence(self, host: str) -> None:
        argv = ceph.commands.osd_blocklist_rm(self._client_addr(host))
        await self._on_any_host(lambda h: self.ssh.run(h, argv, sudo=True))
        self._fenced.discard(host)

    async def is_fenced(self, host: str) -> bool:
        """Every Ceph client of the host's address is blocklisted: by an entry for the whole
        address or by a CIDR range that holds it (`ceph osd blocklist range add`)."""
        self._node(host)
        address = next(h.address for h in self.hosts if h.name == host)
        blocklist = await self._on_any_host(
            lambda h: self._ceph(h, ceph.commands.osd_blocklist_ls(), _blocklist), exclude=host)
        return blocklist.covers(address)

    async def blocklisted(self) -> list[str]:
        """The client addresses Ceph blocklists now (entries; ranges are in is_fenced)."""
        blocklist = await self._on_any_host(
            lambda h: self._ceph(h, ceph.commands.osd_blocklist_ls(), _blocklist))
        return list(blocklist.addrs)

    async def _ceph(self, host: str, argv: list[str], parse: Callable[[str], T]) -> T:
        result = await self.ssh.run(host, argv, sudo=True, timeout=self.options.ceph_timeout)
        return parse(result.stdout)

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
        return placement_commands(uri, vm.name, placement, home_host, running=vm.power in LIVE)

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


def _blocklist(text: str) -> ceph.Blocklist:
    """`ceph osd blocklist ls -f json`, as a BackendError when it is not what Ceph prints."""
    return ceph.parse_blocklist_ls(text)


def _pretty_name(os_release: str) -> str:
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"')
    return ""

