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

FAKE_SUDO = r"""#!/bin/sh
# sudo for tests, as `sudo -S -p PROMPT -- CMD...` behaves. A file `sudo-mode` next to it says
# how: "nopasswd" runs CMD at once; "global" asks once, then not while `sudo-ts` exists (a
# timestamp_type=global record); "refuse" says the user may not use sudo; "no-rule" says so
# after the right password; otherwise it asks every time: PROMPT on stderr, one line read from
# stdin (logged to `sudo-attempts`), up to 3 tries, the password being s3cret.
[ "$1" = "-S" ] && [ "$2" = "-p" ] && [ "$4" = "--" ] || {
  echo "fake sudo: unexpected arguments: $*" >&2; exit 2; }
prompt=$3; shift 4
dir=$(dirname "$0")
mode=$(cat "$dir/sudo-mode" 2>/dev/null)
if [ "$mode" = refuse ]; then
  echo "ops is not in the sudoers file." >&2; exit 1
fi
if [ "$mode" != nopasswd ] && ! { [ "$mode" = global ] && [ -e "$dir/sudo-ts" ]; }; then
  tries=0
  while :; do
    printf '%s' "$prompt" >&2
    IFS= read -r pw || { echo "sudo: no password was provided" >&2; exit 1; }
    printf '%s\n' "$pw" >> "$dir/sudo-attempts"
    [ "$pw" = s3cret ] && break
    tries=$((tries + 1))
    [ "$tries" -ge 3 ] && { echo "sudo: 3 incorrect password attempts" >&2; exit 1; }
    echo "Sorry, try again." >&2
  done
  [ "$mode" = global ] && touch "$dir/sudo-ts"
  if [ "$mode" = no-rule ]; then
    echo "ops is not in the sudoers file." >&2; exit 1
  fi
fi
exec "$@"
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
    unix_forwards: list[str] = field(default_factory=list)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    running: set[asyncio.subprocess.Process] = field(default_factory=set)
    shells: list[asyncssh.SSHServerProcess[bytes]] = field(default_factory=list)  # with a pty
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

            def unix_connection_requested(self, dest_path: str) -> bool:
                owner.unix_forwards.append(dest_path)  # a forwarded socket
                return True

            def password_auth_supported(self) -> bool:
                return owner.password is not None

            def validate_password(self, username: str, password: str) -> bool:
                return password == owner.password

        self._server = await asyncssh.create_server(
            Server, "127.0.0.1", self.port, server_host_keys=[self.host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                self.client_key.export_public_key("openssh").decode()),
            process_factory=self._handle, encoding=None, line_editor=False,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        command = process.command or ""
        if process.command is None:  # a login shell: `sh` reading its stdin (no real pty)
            self.shells.append(process)
            command = "exec sh"
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
            while True:
                try:
                    data = await process.stdin.read(4096)
                except asyncssh.TerminalSizeChanged:  # (a shell's window resized)
                    continue
                if not data:
                    break
                local.stdin.write(data)
            local.stdin.close()

        async def pump(
            source: asyncio.StreamReader | None, sink: asyncssh.SSHWriter[bytes]
        ) -> None:
            assert source is not None
            while data := await source.read(4096):
                try:
                    sink.write(data)
                except BrokenPipeError:  # the client closed the channel; sshd goes on too
                    return

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
