"""libvirt in a process of its own, so a crash in libvirt's C client (a SIGSEGV seen in
getAllDomainStats while a migration ran, issue 13) never takes mvm-tui down with it.

One child process per backend (`python -m mvm_tui.backends.libvirt.agent`) holds every
connection of that backend (connection.LibvirtHost, with all its threading rules) and runs
the calls sent to it: plain functions and their arguments (calls.LibvirtCalls), pickled over
its stdin and stdout, each frame a 4-byte length and a pickle. If it dies, every call in
flight fails with HostUnreachable (saying so), the crash is logged with where its trace is,
and the next call starts a new one: the connections are opened again, the state named by
Residents is made again. Only this process writes to the child; it is trusted as we are.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import signal
import struct
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mvm_tui.backends.base import BackendError, HostUnreachable
from mvm_tui.backends.libvirt.connection import KeepAlive
from mvm_tui.backends.libvirt.events import EventHandler, EventQueue
from mvm_tui.clock import within

T = TypeVar("T")
log = logging.getLogger(__name__)
HEADER = struct.Struct("!I")
AGENT = "mvm_tui.backends.libvirt.agent"
LINE_LIMIT = 1 << 24  # a log line of the child (a traceback is one escaped line)
# a log line of the child: "<level number> <logger name> <message>", message escaped
LEVELS = {str(n): n for n in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR,
                               logging.CRITICAL)}


def frame(message: object) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


class LibvirtApart:
    """The process libvirt runs in, for one backend: started on first use, and again at the
    first use after it died."""

    def __init__(self, label: str) -> None:
        self.label = label  # (the cluster: in messages)
        self.crashes = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # call number -> (its future, its host, the process it was sent to)
        self._pending: dict[int, tuple[asyncio.Future[Any], str, object]] = {}
        self._ids = itertools.count(1)
        self._hosts: dict[str, ApartHost] = {}
        self._declared: set[str] = set()  # hosts the running process knows
        self._starting = asyncio.Lock()
        self._trace = ""  # where the running process writes its crash trace
        self._closed = False
        # console number -> where what it writes goes (the process's numbers, not the host's)
        self._consoles: dict[int, Callable[[bytes, str], None]] = {}
        self._console_numbers = itertools.count(1)

    def host(self, name: str, uri: str, *, connect_timeout: float = 15.0,
             keepalive: KeepAlive | None = None, on_event: EventHandler | None = None,
             before_open: Callable[[], Awaitable[None]] | None = None,
             track_changes: bool = True) -> ApartHost:
        host = ApartHost(self, name, uri, connect_timeout=connect_timeout, keepalive=keepalive,
                         on_event=on_event, before_open=before_open,
                         track_changes=track_changes)
        self._hosts[host.key] = host
        return host

    async def call(self, host: ApartHost, op: str, *args: Any) -> Any:
        """Send one operation for `host`; its result, or what it raised, comes back."""
        if self._closed:
            raise BackendError(f"{host.name}: the libvirt connection is closed")
        async with self._starting:
            proc = await self._running()
            assert proc.stdin is not None
            if host.key not in self._declared:
                self._declared.add(host.key)
                proc.stdin.write(frame(("host", host.key, host.spec())))
            number = next(self._ids)
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending[number] = (fut, host.name, proc)
            proc.stdin.write(frame((op, number, host.key, *args)))
        try:
            with contextlib.suppress(ConnectionError):  # (its end is seen by the reader)
                await proc.stdin.drain()
            return await fut
        finally:
            self._pending.pop(number, None)

    def console_opening(self, deliver: Callable[[bytes, str], None]) -> int:
        """A number for a console about to open; what it writes goes to `deliver`."""
        number = next(self._console_numbers)
        self._consoles[number] = deliver
        return number

    def console_closed(self, number: int) -> None:
        self._consoles.pop(number, None)

    async def _running(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", AGENT, self.label, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT)
        self._proc, self._declared = proc, set()
        self._tasks = [asyncio.create_task(self._read(proc), name="libvirt apart: read"),
                       asyncio.create_task(self._log(proc), name="libvirt apart: log")]
        return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                head = await proc.stdout.readexactly(HEADER.size)
                data = await proc.stdout.readexactly(HEADER.unpack(head)[0])
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            try:
                self._received(pickle.loads(data))
            except Exception:  # a reply nobody can wait for: every call in flight fails
                log.exception("%s: a message from libvirt's process could not be read: the "
                              "process is ended and started again at the next call", self.label)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                break
        await self._ended(proc)

    def _received(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "hello":
            self._trace = message[1] or ""
        elif kind == "console":
            deliver = self._consoles.get(message[1])
            if deliver is not None:
                if not message[2]:
                    del self._consoles[message[1]]
                deliver(message[2], message[3])
        elif kind == "event":
            host = self._hosts.get(message[1])
            if host is not None:
                host.events.put(message[2])
        else:  # "done" or "failed"
            waiting = self._pending.get(message[1])
            if waiting is not None and not waiting[0].done():
                if kind == "done":
                    waiting[0].set_result(message[2])
                else:
                    waiting[0].set_exception(message[2])

    async def _ended(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if self._proc is proc:
            self._proc = None
        how = (f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}")
        if not self._closed:
            self.crashes += 1
            trace = f" (its trace: {self._trace})" if self._trace else ""
            log.error("%s: libvirt's process ended (%s)%s: its connections open again at the "
                      "next call", self.label, how, trace)
        consoles, self._consoles = self._consoles, {}
        for deliver in consoles.values():
            deliver(b"", f"libvirt's client ended ({how}): the console with it")
        for fut, name, sent_to in list(self._pending.values()):
            if sent_to is proc and not fut.done():
                fut.set_exception(HostUnreachable(
                    f"{name}: libvirt's client ended ({how}) during the call: tried again "
                    "at the next one"))

    async def _log(self, proc: asyncio.subprocess.Process) -> None:
        """The child's log lines (and a crash's message) into this process's log."""
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            level, _, rest = line.partition(" ")
            if level in LEVELS:
                name, _, text = rest.partition(" ")
                logging.getLogger(name).log(LEVELS[level], "%s", text.replace("\\n", "\n"))
            elif line:
                log.error("%s: libvirt's process: %s", self.label, line)

    async def close_host(self, host: ApartHost) -> None:
        """Its connection closed (the process goes on for the others)."""
        if self._proc is not None and host.key in self._declared and not self._closed:
            try:  # bounded: closing must not wait on a process that stopped answering
                await within(self.call(host, "close"), host.connect_timeout + 5)
            except BackendError:
                pass
            except TimeoutError:
                log.warning("%s: libvirt's process did not close %s's connection within "
                            "%.0f s", self.label, host.name, host.connect_timeout + 5)
        self._hosts.pop(host.key, None)
        await host.events.close()

    async def close(self) -> None:
        self._closed = True
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            assert proc.stdin is not None
            proc.stdin.close()  # it closes its connections and exits
            try:
                await within(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await within(task, 5)
        for host in self._hosts.values():
            await host.events.close()


class ApartHost:
    """One host's libvirt connection, held by the LibvirtApart process (calls.LibvirtCalls)."""

    def __init__(self, apart: LibvirtApart, name: str, uri: str, *, connect_timeout: float,
                 keepalive: KeepAlive | None, on_event: EventHandler | None,
                 before_open: Callable[[], Awaitable[None]] | None,
                 track_changes: bool = True) -> None:
        self.apart = apart
        self.key = uuid.uuid4().hex
        self.name = name
        self.uri = uri
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.on_event = on_event
        self.track_changes = track_changes
        self.before_open = before_open  # makes the URI reachable (a forwarded socket)
        self.events = EventQueue(name, on_event)
        self._reach = True  # before_open before the next call (first, or after a failure)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri, "connect_timeout": self.connect_timeout,
                "keepalive": self.keepalive, "events": self.on_event is not None,
                "track_changes": self.track_changes}

    async def _send(self, op: str, *args: Any) -> Any:
        if self._reach and self.before_open is not None:
            try:
                await within(self.before_open(), self.connect_timeout)
            except TimeoutError:
                raise HostUnreachable(f"{self.name}: not reached within "
                                      f"{self.connect_timeout:g} s") from None
        self._reach = False
        try:
            return await self.apart.call(self, op, *args)
        except HostUnreachable:
            self._reach = True
            raise

    async def run(self, fn: Callable[[Any], T], what: str = "") -> T:
        return await self._send("run", fn, what)  # type: ignore[no-any-return]

    async def connect(self) -> None:
        await self._send("connect")

    async def migrate_apart(self, vm: str, dest_uri: str, params: dict[str, Any],
                            flags: int) -> None:
        await self._send("migrate", vm, dest_uri, params, flags)

    async def open_console(self, vm: str, force: bool, deliver: Callable[[bytes, str], None],
                           number: int | None = None) -> int:
        number = self.apart.console_opening(deliver)  # (first: its output may come first)
        try:
            await self._send("console_open", vm, force, number)
        except BaseException:
            self.apart.console_closed(number)
            raise
        return number

    async def console_write(self, number: int, data: bytes) -> None:
        await self._send("console_write", number, data)

    async def console_close(self, number: int) -> None:
        self.apart.console_closed(number)
        await self._send("console_close", number)

    async def close(self) -> None:
        await self.apart.close_host(self)
