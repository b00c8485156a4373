"""A host's shell over the pooled SSH connection (backends/ssh/shell.py), against the
in-process SSH server: a pty of the terminal's type and size is asked for, the size follows a
resize, what is written reaches the shell and its output comes back, and it ends cleanly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ssh import SshOptions, SshPool
from mvm_tui.backends.ssh.shell import TERM, SshShells
from tests.backends.ssh_server import SshTestServer
from tests.backends.test_ssh import target, wait_for


@pytest.fixture
async def pool(server: SshTestServer) -> AsyncIterator[SshPool]:
    p = SshPool([target(server)], SshOptions(connect_timeout=5, command_timeout=20))
    yield p
    await p.close()


async def test_a_shell_in_a_pty_of_the_terminals_size(
        pool: SshPool, server: SshTestServer) -> None:
    shell = await SshShells(pool).open_shell("h1", 100, 30)
    await wait_for(lambda: bool(server.shells))
    seen = server.shells[0]
    assert seen.get_terminal_type() == TERM
    assert seen.get_terminal_size()[:2] == (100, 30)

    await shell.resize(120, 40)
    await wait_for(lambda: seen.get_terminal_size()[:2] == (120, 40))

    await shell.write(b"echo hello from $((6 * 7))\n")
    out = b""
    while b"hello from 42" not in out:
        data = await shell.read()
        assert data, f"the shell ended, having said {out!r}"
        out += data
    assert pool.connects["h1"] == 1  # the pooled connection, no new one

    await shell.write(b"exit\n")
    assert await shell.read() == b""  # it ended
    await shell.close()
    with pytest.raises(BackendError, match="closed"):
        await shell.write(b"echo late\n")
