"""The process libvirt runs in (apart.py starts it: `python -m mvm_tui.backends.libvirt.agent
LABEL`). It reads operations from stdin, runs them on its hosts' connections
(connection.LibvirtHost) and writes the results to stdout, both as frames (apart.frame). Its
log goes to stderr, a line per record, for the parent's log. stdin closed: it closes its
connections and exits. faulthandler writes its crash trace to the state directory.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import sys
import threading
from functools import partial
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.libvirt.apart import HEADER, frame
from mvm_tui.backends.libvirt.connection import KeepAlive, LibvirtHost
from mvm_tui.backends.libvirt.events import LifecycleEvent
from mvm_tui.crash import enable_crash_traces

log = logging.getLogger(__name__)


class _Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        escaped = text.replace("\n", "\\n")
        sys.stderr.write(f"{record.levelno} {record.name} {escaped}\n")
        sys.stderr.flush()


class Agent:
    def __init__(self) -> None:
        self.hosts: dict[str, LibvirtHost] = {}
        self._out = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, message: object) -> None:
        try:
            data = frame(message)
        except Exception as exc:  # (a result or an error that does not pickle)
            if not (isinstance(message, tuple) and message[0] in ("done", "failed")):
                raise
            data = frame(("failed", message[1], BackendError(f"an unsendable reply: {exc}")))
        with self._out:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    def declare(self, key: str, spec: dict[str, Any]) -> None:
        async def event(ev: LifecycleEvent) -> None:
            self.send(("event", key, ev))

        self.hosts[key] = LibvirtHost(
            spec["name"], spec["uri"], connect_timeout=spec["connect_timeout"],
            keepalive=spec["keepalive"] if spec["keepalive"] is not None else KeepAlive(),
            on_event=event if spec["events"] else None, track_changes=spec["track_changes"])

    def handle(self, message: tuple[Any, ...]) -> None:
        if message[0] == "host":
            self.declare(message[1], message[2])
            return
        task = asyncio.create_task(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: tuple[Any, ...]) -> None:
        op, number, key, *args = message
        try:
            host, result = self.hosts[key], None
            if op == "run":
                result = await host.run(args[0], args[1])
            elif op == "migrate":
                await host.migrate_apart(*args)
            elif op == "console_open":
                vm, force, console = args
                result = await host.open_console(vm, force, partial(self._console, console),
                                                 console)
            elif op == "console_write":
                await host.console_write(*args)
            elif op == "console_close":
                await host.console_close(*args)
            elif op == "connect":
                await host.connect()
            elif op == "close":
                await self.hosts.pop(key).close()
            else:
                raise BackendError(f"unknown operation {op!r}")
        except Exception as exc:
            self.send(("failed", number, _readable(exc)))
        else:
            self.send(("done", number, result))

    def _console(self, number: int, data: bytes, why: str) -> None:
        self.send(("console", number, data, why))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(h.close() for h in self.hosts.values()), return_exceptions=True)


def _readable(exc: Exception) -> Exception:
    """`exc`, or a BackendError saying it, when the other process could not unpickle it (an
    exception whose constructor wants other arguments than its args)."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return BackendError(f"{type(exc).__name__}: {exc}")
    return exc


def _read(loop: asyncio.AbstractEventLoop, agent: Agent, ended: asyncio.Event) -> None:
    """On a thread of its own: frames from stdin onto the event loop."""
    stdin = sys.stdin.buffer
    try:
        while True:
            head = stdin.read(HEADER.size)
            if len(head) < HEADER.size:
                break
            (size,) = HEADER.unpack(head)
            loop.call_soon_threadsafe(agent.handle, pickle.loads(stdin.read(size)))
    finally:
        loop.call_soon_threadsafe(ended.set)


async def serve() -> None:
    agent = Agent()
    agent.send(("hello", str(enable_crash_traces(sys.argv) or "")))
    ended = asyncio.Event()
    threading.Thread(target=_read, args=(asyncio.get_running_loop(), agent, ended),
                     name="agent-stdin", daemon=True).start()
    await ended.wait()
    await agent.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, handlers=[_Lines()])
    asyncio.run(serve())


if __name__ == "__main__":
    main()
