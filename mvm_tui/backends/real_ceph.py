"""RealBackend's Ceph (HCI): status and storage, commands on the first host that answers (the
CephAdmin capability), and fencing: a lost host's Ceph clients are blocklisted, so its VMs
cannot write. Mixed into RealBackend, which holds the SSH pool and the hosts."""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from mvm_tui.backends import ceph
from mvm_tui.backends.base import BackendError, HostRef, InvalidState
from mvm_tui.backends.capabilities import CliResult, UnitAction
from mvm_tui.backends.ssh import SshPool
from mvm_tui.models import CephStatus, Layout

if TYPE_CHECKING:
    from mvm_tui.backends.libvirt import LibvirtNode
    from mvm_tui.backends.real_options import HostInfo, RealOptions

GB = 1e9
CEPH_UNIT = re.compile(r"ceph-(osd|mon|mgr)@[A-Za-z0-9_.-]+")
T = TypeVar("T")


class RealCeph:
    """Declared here, held by RealBackend."""

    layout: Layout
    hosts: tuple[HostRef, ...]
    ssh: SshPool
    options: RealOptions
    _info: dict[str, HostInfo]
    _storage: dict[str, tuple[float, float]]  # CRUSH host -> (total, used) GB
    _answered: str | None  # the host _on_any_host reached last
    _silent: set[str]  # hosts whose last liveness check got no answer
    _fenced: set[str]  # hosts this process blocklisted (not unfenced since)

    def _node(self, host: str) -> LibvirtNode:
        raise NotImplementedError

    async def host_info(self, host: str) -> HostInfo:
        raise NotImplementedError

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

    async def as_root(self, host: str, argv: Sequence[str], stdin: str | None = None,
                      timeout: float | None = None) -> CliResult:
        """A command as root on the host; its exit status returned, not checked."""
        r = await self.ssh.run(host, list(argv), sudo=True, check=False, stdin=stdin,
                               timeout=timeout or self.options.ceph_timeout)
        return CliResult(r.exit_status, r.stdout, r.stderr)

    async def on_any_host(self, do: Callable[[str], Awaitable[CliResult]]) -> CliResult:
        return await self._on_any_host(do)

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        """A command (as root) on the first host that answers; its exit status is returned,
        not checked (`rados lock get` says so when the lock is held), unless the host's own
        client is refused or stuck (it is blocklisted: fenced): then the next host's."""
        async def run(host: str) -> CliResult:
            r = await self.as_root(host, argv)
            if ceph.client_refused(r.exit_status, r.stderr):
                raise BackendError(f"{host}: {argv[0]}: " + (r.stderr.strip() or "timed out"))
            return r

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


def _blocklist(text: str) -> ceph.Blocklist:
    """`ceph osd blocklist ls -f json`, as a BackendError when it is not what Ceph prints."""
    return ceph.parse_blocklist_ls(text)
