"""Console sessions of a cluster, each recorded in History: a run of its own (kind
"console.session") RUNNING while the session is open, owned by the process that holds it, with
who opened it, how, where, and how it ended; never what was typed or shown.

A session killed with its process is left RUNNING, and recovery makes it INTERRUPTED like any
run; resumed, it says that the session ended with its process and is done.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
from collections.abc import Mapping
from typing import Any

from mvm_tui.backends.base import BackendError, ClusterBackend
from mvm_tui.backends.capabilities import ConsoleChannel
from mvm_tui.clock import Clock
from mvm_tui.runs import RunError, RunExecutor, Step, StepContext, Targets
from mvm_tui.services.consoles.follow import FollowedConsole

log = logging.getLogger(__name__)
KIND = "console.session"
ENDED = ""  # (the last item of a session's queue: what follows it is why it ended)


def login_name() -> str:
    """Who runs this process: the login that ran sudo, if it runs under sudo; "" for a uid
    without a name."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (OSError, KeyError):
        return ""


def operator() -> str:
    return login_name() or f"uid {os.getuid()}"


class RecordedChannel:
    """A ConsoleChannel whose session is in History: what happens to it reaches its run."""

    def __init__(self, channel: ConsoleChannel, events: asyncio.Queue[str] | None) -> None:
        self.channel = channel
        self.run_id: int | None = None
        self._events = events

    @property
    def why(self) -> str:
        return self.channel.why

    def note(self, text: str) -> None:
        if self._events is not None:
            self._events.put_nowait(text)

    def _ended(self, why: str) -> None:
        if self._events is not None:
            self._events.put_nowait(ENDED)
            self._events.put_nowait(why)
            self._events = None

    async def read(self) -> bytes:
        data = await self.channel.read()
        if not data:
            self._ended(self.channel.why or "it ended")
        return data

    async def write(self, data: bytes) -> None:
        await self.channel.write(data)

    async def resize(self, columns: int, rows: int) -> None:
        await self.channel.resize(columns, rows)

    async def close(self) -> None:
        try:
            await self.channel.close()
        finally:
            self._ended("the operator left it")


class ConsoleSessions:
    """Opens consoles and shells of one cluster, each session a run in History (one per
    cluster: Cluster.consoles)."""

    def __init__(self, backend: ClusterBackend, clock: Clock, executor: RunExecutor,
                 user: str | None = None) -> None:
        self.backend = backend
        self.clock = clock
        self.executor = executor
        self.user = user or operator()
        self.kind = f"{backend.name}:{KIND}"
        self._events: dict[int, asyncio.Queue[str]] = {}  # run -> what its session does
        self._tasks: set[asyncio.Task[Any]] = set()
        executor.register(self.kind, self._steps)

    async def open_console(self, vm: str, *, force: bool, via: str) -> RecordedChannel:
        """VM `vm`'s serial console, following the VM (follow.py). ConsoleBusy, InvalidState,
        NotFound, BackendError as the backend's consoles raise them."""
        consoles = self.backend.consoles()
        if consoles is None:
            raise BackendError(f"cluster {self.backend.name} offers no VM consoles")
        console = FollowedConsole(consoles, self.backend.vm_info, vm,
                                  wait=self.clock.sleep)
        await console.open(force)
        how = "took it over from another client" if force else "attached"
        return self._record(console, Targets(self.backend.name, vm=vm),
                            {"vm": vm, "user": self.user, "via": via, "forced": force},
                            f"Console of VM {vm}", f"{self.user} {how} ({via})")

    async def open_shell(self, host: str, columns: int, rows: int, *,
                         via: str) -> RecordedChannel:
        shells = self.backend.shells()
        if shells is None:
            raise BackendError(f"cluster {self.backend.name} offers no host shells")
        shell = await shells.open_shell(host, columns, rows)
        return self._record(shell, Targets(self.backend.name, host=host),
                            {"host": host, "user": self.user, "via": via},
                            f"Shell on host {host}", f"{self.user} opened it ({via})")

    def _record(self, channel: ConsoleChannel, targets: Targets, params: dict[str, Any],
                title: str, opened: str) -> RecordedChannel:
        events: asyncio.Queue[str] = asyncio.Queue()
        recorded = RecordedChannel(channel, events)
        if isinstance(channel, FollowedConsole):
            channel.told = recorded.note
        events.put_nowait(opened)
        try:
            run = self.executor.create(self.kind, title, params, targets)
        except RunError as exc:  # (the history cannot be written: the console still opens)
            log.warning("%s: not recorded in History: %s", title, exc)
            recorded.note(f"not recorded in History: {exc}")
            return recorded
        recorded.run_id = run.id
        self._events[run.id] = events
        task = asyncio.create_task(self._execute(run.id), name=f"console session {run.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return recorded

    async def _execute(self, run_id: int) -> None:
        try:
            await self.executor.execute(run_id)
        except Exception:
            log.exception("console session %d could not be recorded", run_id)
        finally:
            self._events.pop(run_id, None)

    def _steps(self, params: Mapping[str, Any]) -> list[Step]:
        where = (f"VM {params['vm']}'s serial console (libvirt's console stream, on the host "
                 "it runs on)" if "vm" in params
                 else f"a login shell on {params.get('host')} (a pty over its SSH connection)")

        async def session(ctx: StepContext) -> None:
            events = self._events.get(ctx.run_id)
            if events is None:
                ctx.log("the session ended with the process that held it")
                return
            while (event := await events.get()) != ENDED:
                ctx.log(event)
            ctx.log(f"ended: {await events.get()}")

        async def done(_ctx: StepContext) -> bool:
            return True

        return [Step(f"{params.get('user', '?')} on {where}", (), session, done)]
