"""libvirt of hosts behind a proxy_jump bastion. libvirt's ssh transports dial the host's
address themselves and cannot go through a bastion, so for such a host a local UNIX socket
(in a directory of this process only, mode 0700) is forwarded to the host's libvirtd socket
over its pooled SSH connection: through the bastion, with the host keys checked as for every
SSH connection. libvirt connects to that socket (qemu+unix:///system?socket=PATH); each
libvirt connection is one SSH channel. When the SSH connection is lost, the libvirt one is
too, and its reconnect forwards the socket again over the new SSH connection.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncssh

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.libvirt.uri import unix_uri
from mvm_tui.backends.ssh.pool import SshPool

LIBVIRT_SOCKET = "/var/run/libvirt/libvirt-sock"  # on the host: its system libvirtd


class LibvirtTunnels:
    def __init__(self, pool: SshPool, remote_socket: str = LIBVIRT_SOCKET) -> None:
        self._pool = pool
        self._remote = remote_socket
        self._dir: Path | None = None
        self._forwards: dict[str, tuple[asyncssh.SSHClientConnection, asyncssh.SSHListener]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._names: dict[str, str] = {}

    def socket(self, host: str) -> str:
        """The local socket that stands for `host`'s libvirtd (forwarded once ensure()d)."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="mvm-tui-libvirt-"))  # (mode 0700)
        # named by number: a socket's path is at most 107 bytes, a host name up to 63
        name = self._names.setdefault(host, f"h{len(self._names)}.sock")
        return str(self._dir / name)

    def uri(self, host: str) -> str:
        return unix_uri(self.socket(host))

    async def ensure(self, host: str) -> None:
        """The socket forwarded over the host's current SSH connection."""
        async with self._locks.setdefault(host, asyncio.Lock()):
            conn = await self._pool.connection(host)
            current = self._forwards.get(host)
            if current is not None and current[0] is conn and not conn.is_closed():
                return
            if current is not None:
                current[1].close()
            path = Path(self.socket(host))
            await asyncio.to_thread(path.unlink, missing_ok=True)
            try:
                listener = await conn.forward_local_path(str(path), self._remote)
            except (OSError, asyncssh.Error) as exc:
                raise BackendError(f"{host}: its libvirt socket could not be forwarded over "
                                   f"SSH: {exc}") from None
            self._forwards[host] = (conn, listener)

    async def close(self) -> None:
        for _conn, listener in self._forwards.values():
            listener.close()
        self._forwards.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
