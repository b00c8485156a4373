"""libvirt of a host behind a bastion: a local socket forwarded to the host's libvirtd socket
over the host's pooled SSH connection (through the bastion), against a real in-process SSH
server; a unix echo server stands for libvirtd (the lab test drives a real one:
tests/lab/test_lab_bastion.py)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from mvm_tui.backends.ssh import SshOptions, SshPool
from mvm_tui.backends.ssh.libvirt_tunnel import LibvirtTunnels
from mvm_tui.clock import within
from tests.backends.ssh_server import SshTestServer
from tests.backends.test_ssh import target


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readexactly(4))
    await writer.drain()
    writer.close()


async def _through(socket: str) -> bytes:
    reader, writer = await asyncio.open_unix_connection(socket)
    writer.write(b"ping")
    await writer.drain()
    answer = await within(reader.readexactly(4), 10)
    writer.close()
    return answer


async def test_the_socket_is_forwarded_through_the_bastion_and_again_after_a_loss(
    server: SshTestServer, tmp_path: Path,
) -> None:
    libvirtd = str(tmp_path / "libvirt-sock")
    echo = await asyncio.start_unix_server(_echo, libvirtd)
    pool = SshPool([target(server, proxy_jump=f"root@127.0.0.1:{server.port}")],
                   SshOptions(connect_timeout=5))
    tunnels = LibvirtTunnels(pool, remote_socket=libvirtd)
    socket = Path(tunnels.socket("h1"))
    assert tunnels.uri("h1") == f"qemu+unix:///system?socket={socket}"
    try:
        await tunnels.ensure("h1")
        assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700  # this process's only
        assert await _through(str(socket)) == b"ping"
        await tunnels.ensure("h1")  # (nothing new while the connection holds)
        assert server.unix_forwards == [libvirtd]
        assert server.forwards == [("127.0.0.1", server.port)]  # the host, via the bastion
        server.drop_connections()  # the SSH connection is lost (libvirt's with it)
        await pool.run("h1", ["true"])  # (a command reconnects)
        await tunnels.ensure("h1")  # libvirt's reconnect forwards it again
        assert await _through(str(socket)) == b"ping"
        assert server.unix_forwards == [libvirtd, libvirtd]
    finally:
        await tunnels.close()
        await pool.close()
        echo.close()
    assert not socket.parent.exists()
