"""RealBackend: a configured cluster's hosts, over SSH (commands, Ceph) and libvirt (VMs).

Per host: one pooled SSH connection (host facts, `ceph` commands) and one libvirt connection
(inventory, power, placement, migration). The first contact with a host goes over SSH, so an
unknown host key is met (and accepted or refused) there before libvirt connects with the same
known_hosts file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError, ClusterBackend, HostRef, NotFound
from mvm_tui.backends.libvirt import (
    KeepAlive,
    LibvirtHost,
    LibvirtNode,
    LifecycleEvent,
    build_uri,
)
from mvm_tui.backends.libvirt.uri import Transport
from mvm_tui.backends.ssh import SshOptions, SshPool, SshTarget
from mvm_tui.backends.ssh.pool import AskPassword, UnknownKeyPolicy
from mvm_tui.config import ClusterConfig
from mvm_tui.models import CephStatus, HostPoll, Layout, MigrationProgress, PowerAction, Vm

GB = 1e9
T = TypeVar("T")


@dataclass(frozen=True)
class RealOptions:
    ssh: SshOptions = field(default_factory=SshOptions)
    libvirt_connect_timeout: float = 15.0
    keepalive: KeepAlive = field(default_factory=KeepAlive)
    # libssh honours the URI's known_hosts file; plain ssh would use ~/.ssh/known_hosts
    libvirt_transport: Transport = "libssh"
    ceph_timeout: float = 20.0


@dataclass
class _HostInfo:
    hostname: str  # as Ceph names the host's CRUSH bucket (`hostname -s`)
    os: str


def ssh_target(cluster: ClusterConfig, name: str) -> SshTarget:
    h = cluster.host(name)
    return SshTarget(
        name=h.name, address=h.address, port=h.port, user=h.user, key_file=h.key_file,
        known_hosts=cluster.known_hosts_for(h), password_auth=h.password_auth,
        proxy_jump=h.proxy_jump,
    )


def libvirt_uri(cluster: ClusterConfig, name: str, transport: Transport) -> str:
    h = cluster.host(name)
    return build_uri(
        h.user, h.address, port=h.port if h.port != 22 else None,
        keyfile=str(h.key_file) if h.key_file else None,
        known_hosts=str(cluster.known_hosts_for(h)), transport=transport,
    )


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
        self.config = cluster
        self.options = options = options or RealOptions()
        self.name = cluster.name
        self.layout = cluster.layout
        self.hosts = tuple(HostRef(h.name, h.address) for h in cluster.hosts)
        self.ssh = SshPool(
            [ssh_target(cluster, h.name) for h in cluster.hosts], options.ssh,
            ask_password=ask_password, unknown_key=unknown_key,
        )
        kw = {"clock": clock} if clock else {}
        self.nodes = {
            h.name: LibvirtNode(LibvirtHost(
                h.name, libvirt_uri(cluster, h.name, options.libvirt_transport),
                connect_timeout=options.libvirt_connect_timeout, keepalive=options.keepalive,
                on_event=self._libvirt_event,
            ), **kw)
            for h in cluster.hosts
        }
        self._info: dict[str, _HostInfo] = {}
        self._where: dict[str, str] = {}  # VM -> host, from the latest polls
        self._storage: dict[str, tuple[float, float]] = {}  # CRUSH host -> (total, used) GB
        self._changed: Callable[[str], None] | None = None

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

    async def host_info(self, host: str) -> _HostInfo:
        info = self._info.get(host)
        if info is None:
            name = await self.ssh.run(host, ["hostname", "-s"], timeout=10)
            release = await self.ssh.run(host, ["cat", "/etc/os-release"], timeout=10)
            info = _HostInfo(name.stdout.strip(), _pretty_name(release.stdout))
            self._info[host] = info
        return info

    # -- ClusterBackend --------------------------------------------------------------------

    async def poll_host(self, host: str) -> HostPoll:
        node = self._node(host)
        info = await self.host_info(host)
        poll = await node.poll()
        for vm in poll.vms:
            self._where[vm.name] = host
        update: dict[str, object] = {"os": info.os}
        if info.hostname in self._storage:
            total, used = self._storage[info.hostname]
            update |= {"storage_gb": round(total, 2), "storage_used_gb": round(used, 2)}
        return poll.model_copy(update={"facts": poll.facts.model_copy(update=update)})

    async def ceph_status(self) -> CephStatus | None:
        if self.layout is not Layout.HCI:
            return None
        problems = []
        for h in self.hosts:  # any host with a monitor and an admin keyring will do
            try:
                status = await self._ceph(h.name, ceph.commands.status(), ceph.parse_status)
                tree = await self._ceph(h.name, ceph.commands.osd_df_tree(),
                                        ceph.parse_osd_df_tree)
            except BackendError as exc:
                problems.append(str(exc))
                continue
            self._storage = {
                node.name: (node.kb * 1024 / GB, node.kb_used * 1024 / GB)
                for node in tree.nodes
                if node.type == "host"
            }
            return status
        raise BackendError("ceph: no host answered: " + "; ".join(problems))

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
        host = self._where.get(vm.name, vm.host)
        if host is None:
            raise NotFound(f"VM {vm.name} is not defined on any host")
        return self._node(host).power_commands(vm.name, action)

    async def vm_power(self, vm: Vm, action: PowerAction) -> None:
        fresh = await self.vm_info(vm.name)
        assert fresh.host is not None
        await self._node(fresh.host).power(vm.name, action)

    async def migrate(
        self,
        vm: str,
        dest: str,
        on_progress: Callable[[MigrationProgress], None] | None = None,
        *,
        unsafe: bool = False,
    ) -> MigrationProgress:
        """Live-migrate a running VM to `dest` (peer to peer). unsafe: allow disks that
        libvirt cannot prove are shared (e.g. files on a shared file system)."""
        current = await self.vm_info(vm)
        assert current.host is not None
        source, target = self._node(current.host), self._node(dest)
        done = await source.migrate(vm, target, unsafe=unsafe, on_progress=on_progress)
        self._where[vm] = dest
        return done

    async def close(self) -> None:
        await asyncio.gather(*(node.close() for node in self.nodes.values()),
                             return_exceptions=True)
        await self.ssh.close()


def _pretty_name(os_release: str) -> str:
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key == "PRETTY_NAME":
            return value.strip().strip('"')
    return ""

