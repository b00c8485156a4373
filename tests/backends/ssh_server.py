"""An in-process SSH server for tests: real asyncssh, real host key, and a real `sh -c` for
every command, so quoting is proven against an actual shell."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

FAKE_SUDO = """#!/bin/sh
# sudo for tests: -n fails wanting a password; -S reads one line from stdin, must be s3cret
case "$1" in
  -n) echo "sudo: a password is required" >&2; exit 1 ;;
  -S) shift 3; [ "$1" = "--" ] && shift
      IFS= read -r pw
      if [ "$pw" = "s3cret" ]; then exec "$@"; fi
      echo "sudo: 1 incorrect password attempt" >&2; exit 1 ;;
esac
exit 2
"""


@dataclass
class SshTestServer:
    __test__ = False

    tmp: Path
    password: str | None = None  # when set, password logins are accepted too
    host_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key(
        "ssh-ed25519"))
    client_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key(
        "ssh-ed25519"))
    port: int = 0
    connections: list[asyncssh.SSHServerConnection] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    forwards: list[tuple[str, int]] = field(default_factory=list)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    running: set[asyncio.subprocess.Process] = field(default_factory=set)
    _server: asyncssh.SSHAcceptor | None = None

    @property
    def key_file(self) -> Path:
        return self.tmp / "id_ed25519"

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None) -> str:
        public = (key or self.host_key).export_public_key("openssh").decode().strip()
        return f"[127.0.0.1]:{self.port} {public}\n"

    async def start(self) -> None:
        self.client_key.write_private_key(str(self.key_file))
        os.chmod(self.key_file, 0o600)
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "sudo").write_text(FAKE_SUDO)
        (bin_dir / "sudo").chmod(0o755)
        owner = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                owner.connections.append(conn)

            def connection_requested(self, dest_host: str, dest_port: int, orig_host: str,
                                     orig_port: int) -> bool:
                owner.forwards.append((dest_host, dest_port))  # a ProxyJump through us
                return True

            def password_auth_supported(self) -> bool:
                return owner.password is not None

            def validate_password(self, username: str, password: str) -> bool:
                return password == owner.password

        self._server = await asyncssh.create_server(
            Server, "127.0.0.1", self.port, server_host_keys=[self.host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                self.client_key.export_public_key("openssh").decode()),
            process_factory=self._handle, encoding=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        command = process.command or ""
        self.commands.append(command)
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        task.add_done_callback(self.handlers.discard)
        env = {**os.environ, "PATH": f"{self.tmp / 'bin'}:{os.environ['PATH']}"}
        local = await asyncio.create_subprocess_exec(
            "sh", "-c", command, env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so stop() ends its children too
        )
        async def feed() -> None:
            assert local.stdin is not None
            while data := await process.stdin.read(4096):
                local.stdin.write(data)
            local.stdin.close()

        async def pump(
            source: asyncio.StreamReader | None, sink: asyncssh.SSHWriter[bytes]
        ) -> None:
            assert source is not None
            while data := await source.read(4096):
                sink.write(data)

        feeding = asyncio.create_task(feed())
        self.running.add(local)
        try:
            await asyncio.gather(pump(local.stdout, process.stdout),
                                 pump(local.stderr, process.stderr))
            process.exit(await local.wait())
        finally:
            self.running.discard(local)
            feeding.cancel()
            if local.returncode is None:
                local.kill()
                await local.wait()

    def drop_connections(self) -> None:
        for conn in self.connections:
            conn.close()

    async def stop(self) -> None:
        self.drop_connections()
        for local in self.running:  # commands whose client left, like `sleep 30`
            with contextlib.suppress(ProcessLookupError):
                os.killpg(local.pid, signal.SIGKILL)
        if self.handlers:
            await asyncio.wait(self.handlers, timeout=10)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
