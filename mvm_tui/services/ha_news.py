"""What the HA service tells people: it keeps the journal (core.ha_journal: the HA state of
VMs, the incident timelines) and hands each notice to its listeners (the TUI's toasts) and to
the operator's notify command ([clusters.ha] notify_command), run without a shell with the
notice in its environment; it never holds HA up: run in the background, bounded in time, its
failure logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence

from mvm_tui.clock import within
from mvm_tui.core.failover import Decision, FailoverEngine, Kind
from mvm_tui.core.ha_journal import HaJournal, Notice, VmHa, VmHaState
from mvm_tui.core.placement import LIVE
from mvm_tui.models import HostPoll

log = logging.getLogger(__name__)

NOTIFY_TIMEOUT = 30.0


class HaNews:
    def __init__(self, cluster: str, notify_command: Sequence[str] = ()) -> None:
        self.cluster = cluster
        self.journal = HaJournal()
        self.notify_command = tuple(notify_command)
        self._listeners: list[Callable[[Notice], None]] = []
        self._commands: set[asyncio.Task[None]] = set()

    def listen(self, listener: Callable[[Notice], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: (self._listeners.remove(listener)
                        if listener in self._listeners else None)

    # -- what happened

    def decided(self, d: Decision, engine: FailoverEngine) -> None:
        live = engine.live_vms(d.host) if d.kind is Kind.LOST else ()
        self._tell(self.journal.decided(d, live))

    def checked(self, host: str, time: float, poll: HostPoll | None) -> None:
        for vm in poll.vms if poll is not None else ():
            if vm.power in LIVE:
                self.journal.seen_running(vm.name, host, time)

    def fence_ended(self, host: str, time: float, error: str, how: str) -> None:
        if not error:
            self._tell(self.journal.fenced(host, time, how))

    def restart_ended(self, d: Decision, time: float, error: str) -> None:
        if not error and d.vm is not None and d.target is not None:
            self.journal.restarted(d.vm, d.host, time, d.target)

    def unfence_ended(self, host: str, time: float, error: str) -> None:
        self._tell(self.journal.unfenced(host, time, error))

    def failback_ended(self, d: Decision, time: float, error: str) -> None:
        if d.vm is not None and d.target is not None:
            self.journal.failed_back(d.vm, d.target, time, error)

    def vm_states(self, waiting: dict[str, str]) -> dict[str, VmHaState]:
        """Every VM HA should run and does not; a VM the engine keeps waiting that this
        journal never heard of (a service restarted since) is down for want of room."""
        out = self.journal.vm_states()
        for vm, host in waiting.items():
            out.setdefault(vm, VmHaState(vm, VmHa.NO_ROOM, host, float("nan"),
                                         "waiting for room since before this service"))
        return out

    # -- telling

    def _tell(self, notices: Iterable[Notice]) -> None:
        for notice in notices:
            log.log(logging.ERROR if notice.level == "error" else logging.WARNING,
                    "HA %s: %s", self.cluster, notice.message)
            for listener in tuple(self._listeners):
                try:
                    listener(notice)
                except Exception:
                    log.exception("HA notice listener failed")
            if self.notify_command:
                task = asyncio.create_task(self._run_command(notice), name="ha notify")
                self._commands.add(task)
                task.add_done_callback(self._commands.discard)

    async def _run_command(self, notice: Notice) -> None:
        env = {**os.environ, "MVM_CLUSTER": self.cluster, "MVM_EVENT": notice.event,
               "MVM_LEVEL": notice.level, "MVM_HOST": notice.host,
               "MVM_VM": notice.vm or "", "MVM_MESSAGE": notice.message}
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.notify_command, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            log.error("HA %s: the notify command could not start: %s", self.cluster, exc)
            return
        try:
            _, err = await within(proc.communicate(), NOTIFY_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            log.error("HA %s: the notify command took over %g s: killed", self.cluster,
                      NOTIFY_TIMEOUT)
            return
        if proc.returncode:
            log.error("HA %s: the notify command failed (exit status %s): %s", self.cluster,
                      proc.returncode, err.decode(errors="replace").strip()[-300:])

    async def close(self) -> None:
        """Wait for the notify commands under way (each is bounded)."""
        if self._commands:
            await asyncio.gather(*self._commands, return_exceptions=True)
