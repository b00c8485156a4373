"""A login shell on a host, in a pty, over the pool's connection (its host key checked as for
every command): the Shells capability of real clusters."""

from __future__ import annotations

import asyncssh

from mvm_tui.backends.base import BackendError, HostUnreachable
from mvm_tui.backends.ssh.pool import SshPool

TERM = "xterm-256color"  # what the terminal widget (widgets/terminal.py, pyte) understands
_CLOSED = (asyncssh.Error, OSError)


class SshShell:
    """A ConsoleChannel (backends/capabilities.py) over an SSH session with a pty."""

    def __init__(self, label: str, process: asyncssh.SSHClientProcess[bytes]) -> None:
        self.label = label
        self.why = ""
        self._process = process

    async def read(self) -> bytes:
        try:
            data = await self._process.stdout.read(65536)
        except _CLOSED as exc:
            data, self.why = b"", f"the shell on {self.label} ended: {exc}"
        if not data and not self.why:
            self.why = f"the shell on {self.label} ended"
        return data

    async def write(self, data: bytes) -> None:
        try:
            self._process.stdin.write(data)
            await self._process.stdin.drain()
        except _CLOSED as exc:
            raise BackendError(f"{self.label}: the shell is closed ({exc})") from None

    async def resize(self, columns: int, rows: int) -> None:
        try:
            self._process.change_terminal_size(columns, rows)
        except _CLOSED as exc:
            raise BackendError(f"{self.label}: the shell is closed ({exc})") from None

    async def close(self) -> None:
        self._process.close()
        await self._process.wait_closed()


class SshShells:
    """Shells (backends/capabilities.py) on the hosts of an SshPool."""

    def __init__(self, pool: SshPool) -> None:
        self.pool = pool

    async def open_shell(self, host: str, columns: int, rows: int) -> SshShell:
        target = self.pool.target(host)
        for attempt in (1, 2):
            conn = await self.pool.connection(host)
            try:
                process = await conn.create_process(
                    term_type=TERM, term_size=(columns, rows), encoding=None)
            except (asyncssh.ConnectionLost, asyncssh.DisconnectError) as exc:
                self.pool.drop(host)  # a connection gone stale: a fresh one may do
                if attempt == 2:
                    raise HostUnreachable(f"{target.label}: {exc}") from None
            except asyncssh.Error as exc:
                raise BackendError(f"{target.label}: no shell: {exc}") from None
            else:
                return SshShell(target.label, process)
        raise AssertionError("not reached")
