"""The HA service's runs (fence, restart, unfence, failback): every step in History, and every
step re-checks its guard right before it acts, on first run, retry and resume:

- no step of an HA run acts once this service may no longer act (it lost its lease);
- a restart defines and starts the VM only while the lost host is fenced now (blocklisted or
  powered off), its target is not, and the VM runs nowhere, and starts it only while the
  target has room now
  (a migration or an evacuation may be filling it at the same time);
- a returned host's copy of a VM is removed only when another copy really runs.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, commands_or_why
from mvm_tui.clock import Clock
from mvm_tui.models import PowerState
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets
from mvm_tui.services.ha_actions import HaActions
from mvm_tui.services.ha_actions import stub as _stub
from mvm_tui.services.placement import migration_reporter

log = logging.getLogger(__name__)


class GuardRefused(InvalidState):
    """A guard said no right before a step acted."""


class RecordingFailed(Exception):
    """A run could not be recorded (the run store failed: disk full, say): nothing was done;
    the caller must say so loudly and try again."""


class HaRuns:
    """Registers the HA run kinds of one cluster with the executor, and runs them."""

    def __init__(
        self, backend: ClusterBackend, clock: Clock, executor: RunExecutor, actions: HaActions,
        may_act: Callable[[], str] = lambda: "",
        lost_now: Callable[[str], bool] = lambda host: True,
        leased: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.backend, self.clock, self.executor, self.actions = backend, clock, executor, actions
        self.may_act = may_act  # "" while this service may act, else why not (lease lost)
        # waits (bounded) while the lease is being renewed: a step then acts, rather than
        # fail for a renewal that takes a second
        self.leased = leased
        self.lost_now = lost_now  # the service's checks say the host is lost (not back)
        for kind, builder in (("fence", self._fence), ("unfence", self._unfence),
                              ("restart", self._restart), ("failback", self._failback)):
            executor.register(self.kind(kind), builder)

    def kind(self, kind: str) -> str:
        return f"{self.backend.name}:ha.{kind}"

    async def run(self, kind: str, title: str, params: dict[str, Any], targets: Targets) -> str:
        """Create and execute a run; returns "" when it is done, else its error. Raises
        RecordingFailed when the run could not be recorded (then it may not have started, or
        stopped between steps: executed again, each step re-checks before it acts)."""
        try:
            record: RunRecord = self.executor.create(self.kind(kind), title, params, targets)
        except (sqlite3.Error, OSError) as exc:
            raise RecordingFailed(f"HA cannot record its runs, so it does not act: {exc}; "
                                  "trying again") from exc
        try:
            record = await self.executor.execute(record.id)
        except (sqlite3.Error, OSError) as exc:
            raise RecordingFailed(f"HA cannot record its runs: run {record.id} stopped: {exc};"
                                  " trying again") from exc
        return "" if record.state == "done" else (record.error or str(record.state))

    def targets(self, host: str | None = None, vm: str | None = None) -> Targets:
        return Targets(cluster=self.backend.name, host=host, vm=vm)

    async def _acting(self) -> None:
        if self.leased is not None:
            await self.leased()
        why = self.may_act()
        if why:
            raise GuardRefused(f"stopped before this step: {why}")

    async def _fenced(self, lost: str, target: str) -> str:
        if lost == target:  # its own host, back: it starts there again
            return "back"
        if not self.lost_now(lost):
            raise GuardRefused(f"{lost} is not lost now (it answered since, or its checks have "
                               "not failed for the grace period): nothing of it is started "
                               "elsewhere")
        how = await self.actions.fenced_now(lost)
        if not how:
            raise GuardRefused(f"{lost} is not fenced now (not blocklisted, not powered off): "
                               "nothing of it is started elsewhere")
        return how

    def _still_lost(self, host: str) -> None:
        """A fence acts only while the host is lost now (a run resumed by a new process, or
        retried, after the host answered again fences nothing)."""
        if not self.lost_now(host):
            raise GuardRefused(f"{host} is not lost now (it answered since): not fenced")

    async def _target_not_fenced(self, target: str) -> None:
        """Nothing starts on a host that is fenced now (blocklisted: it would not reach its
        disks; powered off)."""
        how = await self.actions.fenced_now(target)
        if how:
            raise GuardRefused(f"{target} is fenced now ({how}): nothing is started there")

    async def _not_deleted(self, vm: str) -> None:
        """A VM deleted (or being deleted) is never started again, whatever HA remembers."""
        workloads = self.backend.workloads()
        if workloads is not None and await workloads.deleted(vm) is not None:
            raise GuardRefused(f"{vm} was deleted by an operator: it is not started again")

    async def _runs_nowhere(self, vm: str) -> None:
        where = await self.actions.running_on(vm)
        if where:
            raise GuardRefused(f"{vm} is running on {', '.join(where)}: not started again")

    async def fence_outcome(self, host: str, error: str) -> tuple[str, str]:
        """For a host that answered while its fence run executed: (error, how fenced), from
        what the world is now. Fenced now (blocklisted or powered off: its VMs died), it is
        fenced, even if a later step failed; not fenced now, the fence did not take effect."""
        try:
            how = await self.actions.fenced_now(host)
        except Exception as exc:  # unknown: not taken for fenced (nothing restarts)
            log.warning("HA %s: is %s fenced now? %s", self.backend.name, host, exc)
            how = ""
        if error and how:
            log.warning("HA %s: the fence of %s failed (%s) but took effect (%s)",
                        self.backend.name, host, error, how)
            return "", how
        if not error and not how:
            return f"{host} is not fenced now (its fence run ended, then it was undone)", ""
        return error, how

    # -- builders

    def _fence(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host, expiry, ipmi = params["host"], float(params["expiry"]), bool(params["ipmi"])

        async def blocklist(ctx: StepContext) -> None:
            await self._acting()
            self._still_lost(host)
            ctx.log(f"{host} failed its checks for the grace period: fencing it")
            await self.actions.fence(host, expiry)

        async def fenced(ctx: StepContext) -> bool:
            return await self.actions.is_fenced(host)

        async def power_off(ctx: StepContext) -> None:
            await self._acting()
            self._still_lost(host)
            await self.actions.power_off(host)
            ctx.log(f"{host} powered off through IPMI")

        async def done(ctx: StepContext) -> bool:
            return True

        steps = [Step(f"Blocklist the Ceph clients of {host} for {expiry:g} s",
                      tuple(self.actions.fence_commands(host, expiry)), blocklist, fenced)]
        if ipmi:
            steps.append(Step(f"Power off {host} through IPMI",
                              tuple(self.actions.power_off_commands(host)), power_off, done))
        return steps

    def _unfence(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host, stale = str(params["host"]), [str(v) for v in params.get("stale", ())]
        steps = [self._remove_step(vm, host) for vm in stale]

        async def act(ctx: StepContext) -> None:
            await self._acting()
            ctx.log(f"{host} is back: removing its blocklist entry")
            await self.actions.unfence(host)

        async def check(ctx: StepContext) -> bool:
            return not await self.actions.is_fenced(host)

        steps.append(Step(f"Remove {host} from the Ceph blocklist",
                          tuple(self.actions.unfence_commands(host)), act, check))
        return steps

    def _remove_step(self, vm: str, host: str) -> Step:
        async def elsewhere() -> list[str]:
            return [h for h in await self.actions.running_on(vm) if h != host]

        async def act(ctx: StepContext) -> None:
            await self._acting()
            others = await elsewhere()
            if not others:
                ctx.log(f"{vm} runs on no other host: its copy on {host} is kept")
                return
            ctx.log(f"{vm} runs on {', '.join(others)}: removing the stale copy on {host}")
            await self.actions.remove_copy(vm, host)

        async def check(ctx: StepContext) -> bool:
            return await self.actions.state_on(vm, host) is None or not await elsewhere()

        return Step(f"Stop and undefine the stale copy of {vm} on {host}",
                    tuple(self.actions.remove_commands(vm, host)), act, check)

    def _restart(self, params: Mapping[str, Any]) -> Sequence[Step]:
        vm, lost, target = str(params["vm"]), str(params["host"]), str(params["target"])
        a = self.actions

        async def define(ctx: StepContext) -> None:
            await self._acting()
            how = await self._fenced(lost, target)
            await self._target_not_fenced(target)
            await self._runs_nowhere(vm)
            await self._not_deleted(vm)
            ctx.log(f"{vm} was on {lost} ({how} now) and runs nowhere: defining it on {target}")
            await a.define_on(vm, lost, target)

        async def defined(ctx: StepContext) -> bool:
            return await a.state_on(vm, target) is not None

        async def start(ctx: StepContext) -> None:
            if await a.state_on(vm, target) is PowerState.RUNNING:
                return
            await self._acting()
            await self._fenced(lost, target)
            await self._target_not_fenced(target)
            await self._runs_nowhere(vm)
            await self._not_deleted(vm)
            no_room = await a.room_for(vm, target)
            if no_room:
                raise GuardRefused(f"not started: {no_room}")
            await a.start_on(vm, target)
            ctx.log(f"{vm} started on {target}")

        async def running(ctx: StepContext) -> bool:
            return await a.state_on(vm, target) is PowerState.RUNNING

        define_cmds, start_cmds = _split(a.restart_commands(vm, target))
        return [Step(f"Define {vm} on {target}", define_cmds, define, defined),
                Step(f"Start {vm} on {target}", start_cmds, start, running)]

    def _failback(self, params: Mapping[str, Any]) -> Sequence[Step]:
        vm, home = str(params["vm"]), str(params["home"])

        async def act(ctx: StepContext) -> None:
            await self._acting()
            info = await self.backend.vm_info(vm)
            if info.host == home:
                return
            if info.power is not PowerState.RUNNING:
                raise InvalidState(f"{vm} is {info.power.value}: not moved back")

            await self.backend.migrate(vm, home, migration_reporter(ctx))

        async def check(ctx: StepContext) -> bool:
            return bool((await self.backend.vm_info(vm)).host == home)

        preview = commands_or_why(lambda: self.backend.migrate_commands(_stub(vm, None), home))
        return [Step(f"Live-migrate {vm} back to {home}", preview, act, check)]


def _split(commands: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """restart_commands: the define commands, then the start command (the last)."""
    return tuple(commands[:-1]), tuple(commands[-1:])
