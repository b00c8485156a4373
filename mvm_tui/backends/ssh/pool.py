"""One pooled SSH connection per host, reused for every command (as cephadm does).

Commands are argument lists: each argument is shell-quoted, so a value from a user or a host
reaches the remote shell as one literal word. Output streams line by line to an optional sink.
Host keys are always checked against the target's known_hosts file; passwords (login, sudo)
are asked for through a callback when needed and kept in memory only. A sudo password is given
to sudo only, never to the command (see become).
"""

from __future__ import annotations

import asyncio
import shlex
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncssh

from mvm_tui import paths
from mvm_tui.backends.base import BackendError, HostUnreachable, NotFound
from mvm_tui.backends.ssh import hostkeys
from mvm_tui.backends.ssh.become import AskedAgain, LineSink, Markers, become_argv, exchange
from mvm_tui.backends.ssh.errors import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
)
from mvm_tui.clock import within

Purpose = Literal["login", "sudo"]
AskPassword = Callable[["SshTarget", Purpose], Awaitable[str]]
# asked when a host presents a key known_hosts does not hold: True saves it and goes on
UnknownKeyPolicy = Callable[[HostKeyUnknown], Awaitable[bool]]

_LOST = (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.ChannelOpenError)


@dataclass(frozen=True)
class SshTarget:
    """How to reach one host."""

    name: str
    address: str
    port: int = 22
    user: str = "root"
    key_file: Path | None = None  # None: ssh's default keys and the agent
    known_hosts: Path = field(default_factory=paths.known_hosts_path)
    password_auth: bool = False
    proxy_jump: str | None = None  # [user@]host[:port] of a bastion, as ssh's ProxyJump

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address}:{self.port})"


@dataclass(frozen=True)
class SshOptions:
    connect_timeout: float = 10.0
    command_timeout: float = 60.0  # default per command; run() may give another
    keepalive_interval: float = 5.0  # a dead connection is noticed after interval * count
    keepalive_count_max: int = 3


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_status: int
    stdout: str
    stderr: str


def command_line(argv: Sequence[str]) -> str:
    """The exact shell command for an argument list, every argument quoted."""
    if not argv:
        raise ValueError("empty command")
    for arg in argv:
        if "\0" in arg:
            raise ValueError(f"argument {arg!r} contains a NUL character")
    return shlex.join(argv)


class SshPool:
    def __init__(
        self,
        targets: Iterable[SshTarget],
        options: SshOptions | None = None,
        ask_password: AskPassword | None = None,
        unknown_key: UnknownKeyPolicy | None = None,
    ) -> None:
        self.targets = {t.name: t for t in targets}
        self._unknown_key = unknown_key
        self.options = options or SshOptions()
        self._ask_password = ask_password
        self._passwords: dict[tuple[str, Purpose], str] = {}  # in memory only
        self._asking: dict[tuple[str, Purpose], asyncio.Lock] = {}
        self._conns: dict[str, asyncssh.SSHClientConnection] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.connects: Counter[str] = Counter()  # connections opened per host
        self.sudo_prompts: Counter[str] = Counter()  # times sudo asked for the password, per host

    def target(self, host: str) -> SshTarget:
        try:
            return self.targets[host]
        except KeyError:
            raise NotFound(f"host {host} is not configured") from None

    # -- connections -----------------------------------------------------------------------

    async def connection(self, host: str) -> asyncssh.SSHClientConnection:
        target = self.target(host)
        return await self._pooled(host, target)

    async def _pooled(self, key: str, t: SshTarget) -> asyncssh.SSHClientConnection:
        """The open connection kept under `key`, or a new one (through the target's bastion
        when it has one). An unknown host key goes to the unknown_key policy."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            conn = self._conns.get(key)
            if conn is not None and not conn.is_closed():
                return conn
            tunnel = await self._pooled(*_bastion(t)) if t.proxy_jump else None
            try:
                conn = await self._connect(t, tunnel)
            except HostKeyUnknown as unknown:
                if self._unknown_key is None or not await self._unknown_key(unknown):
                    raise
                hostkeys.accept(unknown)
                conn = await self._connect(t, tunnel)
            self._conns[key] = conn
            self.connects[key] += 1
            return conn

    async def _connect(
        self, t: SshTarget, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        o = self.options
        kwargs: dict[str, object] = {}
        if t.key_file is not None:
            if not t.key_file.is_file():
                raise AuthFailed(f"{t.label}: key file {t.key_file} does not exist")
            kwargs["client_keys"] = [str(t.key_file)]
        if t.password_auth:
            kwargs["password"] = await self._password(t, "login")
        try:
            return await within(
                asyncssh.connect(
                    t.address, t.port, username=t.user, known_hosts=_known_hosts(t),
                    tunnel=tunnel or (), connect_timeout=o.connect_timeout,
                    keepalive_interval=o.keepalive_interval,
                    keepalive_count_max=o.keepalive_count_max,
                    password_auth=t.password_auth, **kwargs,
                ),
                o.connect_timeout + 1.0,
            )
        except asyncssh.HostKeyNotVerifiable:
            problem = await self._classify(t, tunnel)
            if problem is None:
                raise HostUnreachable(f"{t.label}: host key not verifiable") from None
            raise problem from None
        except asyncssh.PermissionDenied:
            self._passwords.pop((t.name, "login"), None)
            how = "password" if t.password_auth else f"key {t.key_file or '(ssh default / agent)'}"
            raise AuthFailed(f"{t.label}: authentication as {t.user} with {how} failed") from None
        except (OSError, TimeoutError, *_LOST) as exc:
            raise HostUnreachable(f"{t.label}: {_reason(exc)}") from None

    async def _classify(
        self, t: SshTarget, tunnel: asyncssh.SSHClientConnection | None
    ) -> HostKeyUnknown | HostKeyChanged | None:
        try:
            return await within(
                hostkeys.classify(t.name, t.address, t.port, t.known_hosts, tunnel),
                self.options.connect_timeout,
            )
        except (OSError, TimeoutError, asyncssh.Error):
            return None

    async def _password(self, t: SshTarget, purpose: Purpose) -> str:
        key = (t.name, purpose)
        async with self._asking.setdefault(key, asyncio.Lock()):  # asked once, not per command
            if key not in self._passwords:
                if self._ask_password is None:
                    raise AuthFailed(
                        f"{t.label}: a {purpose} password is needed and none can be asked")
                self._passwords[key] = await self._ask_password(t, purpose)
            return self._passwords[key]

    def drop(self, host: str) -> None:
        conn = self._conns.pop(host, None)
        if conn is not None:
            conn.close()

    async def close(self) -> None:
        conns = list(self._conns.values())
        self._conns.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            await conn.wait_closed()

    async def put(self, host: str, local: Path, remote: str,
                  progress: Callable[[int, int], None] | None = None) -> None:
        """Copy the file `local` of this machine to `remote` on the host (SFTP, over the
        pooled connection, as the SSH user); `progress(done, total)` as it goes."""
        conn = await self.connection(host)

        def said(_src: bytes, _dst: bytes, done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)

        try:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(local), remote, progress_handler=said)
        except (asyncssh.Error, OSError) as exc:
            raise BackendError(f"{host}: copying {local} to {remote} failed: {exc}") from None

    # -- commands --------------------------------------------------------------------------

    async def run(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        sudo: bool = False,
        stdin: str | None = None,
        on_line: LineSink | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run one command on `host`; with check, a non-zero exit raises CommandFailed.
        With sudo, a non-root user runs it through sudo; its password, asked for once when
        sudo first prompts for it, reaches sudo only (see become)."""
        t = self.target(host)
        shown = command_line(argv)
        limit = timeout if timeout is not None else self.options.command_timeout
        if not sudo or t.user == "root":
            proc = await self._start(t, shown)
            result = await self._collect(t, proc, shown, stdin, on_line, limit)
        else:
            result = await self._run_sudo(t, argv, shown, stdin, on_line, limit)
        return _checked(t, result, check)

    async def _start(self, t: SshTarget, cmd: str) -> asyncssh.SSHClientProcess[str]:
        for attempt in (1, 2):
            conn = await self.connection(t.name)
            try:
                return await conn.create_process(cmd, encoding="utf-8", errors="replace")
            except _LOST as exc:  # the command never started: a fresh connection may do
                self.drop(t.name)
                if attempt == 2:
                    raise HostUnreachable(f"{t.label}: {_reason(exc)}") from None
        raise AssertionError("not reached")

    async def _run_sudo(
        self,
        t: SshTarget,
        argv: Sequence[str],
        shown: str,
        stdin: str | None,
        on_line: LineSink | None,
        limit: float,
    ) -> CommandResult:
        markers = Markers.fresh()
        proc = await self._start(t, command_line(become_argv(markers, argv)))
        deadline = asyncio.timeout(limit)

        async def password() -> str:
            # sudo prompts. The time the operator takes to type it does not count.
            self.sudo_prompts[t.name] += 1
            loop = asyncio.get_running_loop()
            when = deadline.when()
            left = None if when is None else max(0.0, when - loop.time())
            deadline.reschedule(None)
            try:
                secret = await self._password(t, "sudo")
            finally:
                if left is not None:
                    deadline.reschedule(loop.time() + left)
            if any(c in secret for c in "\n\r\0"):
                self._passwords.pop((t.name, "sudo"), None)
                raise AuthFailed(f"{t.label}: the sudo password of {t.user} holds a line "
                                 "break or a NUL, which sudo -S cannot read")
            return secret

        try:
            async with deadline:
                outcome = await exchange(proc, markers, password, stdin, on_line)
        except AskedAgain:
            proc.close()
            self._passwords.pop((t.name, "sudo"), None)
            raise AuthFailed(f"{t.label}: sudo refused the password of {t.user}") from None
        except (TimeoutError, *_LOST) as exc:
            raise self._cut_short(t, proc, shown, limit, exc) from None
        except BaseException:  # no password to give (AuthFailed), or cancelled
            proc.close()
            raise
        if not outcome.started:
            said = _last_line(outcome.stderr)
            if outcome.answered:  # a wrong password (passwd_tries=1), or no rule for the user
                self._passwords.pop((t.name, "sudo"), None)
                raise AuthFailed(f"{t.label}: sudo did not run `{shown}` as root after the "
                                 f"password of {t.user} was given{said}")
            raise AuthFailed(f"{t.label}: sudo did not run `{shown}` as root{said}")
        return CommandResult(shown, outcome.exit_status, outcome.stdout, outcome.stderr)

    async def _collect(
        self,
        t: SshTarget,
        proc: asyncssh.SSHClientProcess[str],
        shown: str,
        stdin: str | None,
        on_line: LineSink | None,
        limit: float,
    ) -> CommandResult:
        out: list[str] = []
        err: list[str] = []

        async def pump(stream: asyncssh.SSHReader[str], name: str, sink: list[str]) -> None:
            async for line in stream:
                sink.append(line)
                if on_line is not None:
                    on_line(name, line.rstrip("\n"))

        async def whole() -> int:
            if stdin is not None:
                proc.stdin.write(stdin)
            proc.stdin.write_eof()
            await asyncio.gather(pump(proc.stdout, "stdout", out), pump(proc.stderr, "stderr", err))
            done = await proc.wait(check=False)
            return done.exit_status if done.exit_status is not None else -1

        try:
            status = await within(whole(), limit)
        except (TimeoutError, *_LOST) as exc:
            raise self._cut_short(t, proc, shown, limit, exc) from None
        return CommandResult(shown, status, "".join(out), "".join(err))

    def _cut_short(self, t: SshTarget, proc: asyncssh.SSHClientProcess[str], shown: str,
                   limit: float, exc: BaseException) -> BackendError:
        """What a command that ran out of time, or lost its connection, raises."""
        if isinstance(exc, TimeoutError):
            proc.close()
            return CommandTimeout(f"{t.label}: `{shown}` did not end within {limit:g} s")
        self.drop(t.name)
        return HostUnreachable(f"{t.label}: connection lost during `{shown}`: {_reason(exc)}")


def _bastion(t: SshTarget) -> tuple[str, SshTarget]:
    """The pool key and target of t's ProxyJump host: same key file and known_hosts."""
    assert t.proxy_jump is not None
    user, _, rest = t.proxy_jump.rpartition("@")
    host, _, port = rest.partition(":")
    target = SshTarget(
        name=f"bastion {host} of {t.name}", address=host, port=int(port or 22),
        user=user or t.user, key_file=t.key_file, known_hosts=t.known_hosts,
    )
    return f"jump {target.user}@{host}:{target.port}", target


def _known_hosts(t: SshTarget) -> asyncssh.SSHKnownHosts:
    """The target's known_hosts file; a missing file knows no host (every key is unknown)."""
    if t.known_hosts.is_file():
        return asyncssh.read_known_hosts(str(t.known_hosts))
    return asyncssh.import_known_hosts("")


def _checked(t: SshTarget, result: CommandResult, check: bool) -> CommandResult:
    if check and result.exit_status != 0:
        raise CommandFailed(t.name, result.command, result.exit_status, result.stderr)
    return result


def _last_line(text: str) -> str:
    """": " and the last non-empty line of a message, or nothing."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, asyncssh.Error):
        return exc.reason or type(exc).__name__
    return exc.strerror or str(exc) or type(exc).__name__ if isinstance(exc, OSError) else str(exc)
