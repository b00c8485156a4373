"""Maintenance mode as Runs: enter (mark the host, then move its VMs away, several at once
within the migration limits) and leave (clear the mark, then optionally bring the VMs back).

The executor runs a run's steps one after another, so the moves are not one step each: one
step moves all the VMs, running up to the limits of migrations at once (a new one starts as
soon as one ends), with each VM's progress in the run log. Its preview lists every VM's exact
commands; its check is that every VM is on its target, so a retried or resumed run only moves
the VMs that are not there yet.

Run params hold the plan (JSON), so a run is rebuilt exactly as it was previewed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from mvm_tui.backends.base import BackendError, ClusterBackend, commands_or_why
from mvm_tui.clock import Clock
from mvm_tui.core.maintenance import (
    DEFAULT_LIMITS,
    EvacuationPlan,
    MigrationLimits,
    Move,
    ReturnPlan,
    plan_evacuation,
    plan_return,
    startable,
)
from mvm_tui.core.placement import LIVE, Limits, assign, rooms
from mvm_tui.models import ClusterSnapshot, MigrationProgress, PowerState, Vm
from mvm_tui.runs import (
    RunExecutor,
    RunRecord,
    RunState,
    Step,
    StepContext,
    Targets,
    error_message,
)
from mvm_tui.services.placement import ensure_room
from mvm_tui.units import count, rate

ENTER = "host.maintenance.enter"
LEAVE = "host.maintenance.leave"
GIB = float(1 << 30)


class MaintenanceBlocked(BackendError):
    """Entering maintenance is refused: a VM cannot leave the host, or the host cannot."""



def progress_line(p: MigrationProgress) -> str:
    """e.g. "web-01: 42% (1.7 GiB of 4.0 GiB), dirty 33.4 MiB/s"."""
    sent = (p.memory_total_bytes - p.memory_remaining_bytes) / GIB
    line = (f"{p.vm}: {p.percent:.0f}% ({sent:.1f} GiB of {p.memory_total_bytes / GIB:.1f} GiB)"
            f", dirty {rate(p.dirty_rate_bps)}")
    return line + (f", paused on {p.source} for the switch-over" if p.switching_over else "")


def _moves_param(moves: Iterable[Move]) -> list[dict[str, Any]]:
    return [{"vm": m.vm, "source": m.source, "target": m.target, "live": m.live} for m in moves]


def _moves(params: Mapping[str, Any]) -> list[Move]:
    return [Move(str(m["vm"]), str(m["source"]), str(m["target"]), bool(m["live"]))
            for m in params["moves"]]


class MaintenanceRuns:
    """Builds, registers and creates the maintenance runs of one cluster."""

    def __init__(
        self,
        executor: RunExecutor,
        kind_prefix: str,
        backend: ClusterBackend,
        clock: Clock,
        snapshot_provider: Callable[[], ClusterSnapshot],
        limits: Limits = DEFAULT_LIMITS,
        migration_limits: MigrationLimits | None = None,
        vm_changed: Callable[[Vm], None] | None = None,
        unusable: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self.executor = executor
        self.backend = backend
        self.clock = clock
        self.snapshot = snapshot_provider
        self.limits = limits
        self.migration_limits = migration_limits or MigrationLimits()
        self.vm_changed = vm_changed  # told each moved VM's fresh state (e.g. poller.update_vm)
        self.enter_kind = kind_prefix + ENTER
        self.leave_kind = kind_prefix + LEAVE
        self.unusable = unusable  # hosts that must not take VMs now, and why (HA: lost)
        self.in_flight: list[Move] = []  # moves running now, across this cluster's runs
        self._freed: list[asyncio.Future[None]] = []  # woken when any move ends
        executor.register(self.enter_kind, self._build_enter)
        executor.register(self.leave_kind, self._build_leave)

    # -- plans and runs ----------------------------------------------------------------------

    def plan_enter(self, host: str) -> EvacuationPlan:
        return plan_evacuation(self.snapshot(), host, self.limits)

    def enter_params(self, plan: EvacuationPlan) -> dict[str, Any]:
        return {"host": plan.host, "moves": _moves_param(plan.moves)}

    def create_enter_run(self, plan: EvacuationPlan) -> RunRecord:
        """The run of a plan the operator confirmed; refused while anything blocks it."""
        if plan.refusal is not None:
            raise MaintenanceBlocked(plan.refusal)
        if plan.blocked:
            raise MaintenanceBlocked("cannot enter maintenance: " + "; ".join(
                f"{b.vm.name}: {b.reason}" for b in plan.blocked))
        return self.executor.create(
            self.enter_kind, f"Enter maintenance: {plan.host}", self.enter_params(plan),
            Targets(cluster=self.backend.name, host=plan.host),
        )

    def moved_away(self, host: str) -> list[str]:
        """The VMs the last completed evacuation of `host` moved away (to offer them back)."""
        for run in self.executor.store.list_runs(cluster=self.backend.name, host=host):
            if run.kind == self.enter_kind and run.state is RunState.DONE and \
                    run.unreadable is None:
                return [m.vm for m in _moves(run.params)]
        return []

    def plan_leave(self, host: str, moved_vms: Iterable[str] | None = None) -> ReturnPlan:
        vms = self.moved_away(host) if moved_vms is None else moved_vms
        return plan_return(self.snapshot(), host, vms, self.limits)

    def leave_params(self, host: str, plan: ReturnPlan | None = None) -> dict[str, Any]:
        moves = [m.move for m in plan.moves] if plan is not None else []
        return {"host": host, "moves": _moves_param(moves)}

    def create_leave_run(self, host: str, plan: ReturnPlan | None = None) -> RunRecord:
        """Leave maintenance; with a plan, bring back the VMs it lists."""
        return self.executor.create(
            self.leave_kind, f"Leave maintenance: {host}", self.leave_params(host, plan),
            Targets(cluster=self.backend.name, host=host),
        )

    # -- builders ----------------------------------------------------------------------------

    def _build_enter(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host, moves = str(params["host"]), _moves(params)
        planned_live = {m.vm for m in moves if m.live}

        async def mark(ctx: StepContext) -> None:
            poll = await self.backend.poll_host(host)  # fresh: anything started since?
            stray = [v for v in poll.vms if v.power in LIVE and v.name not in planned_live]
            if stray:
                raise MaintenanceBlocked("not in maintenance: " + ", ".join(
                    f"{v.name} is {v.power.value} on {host}" for v in stray)
                    + " and the plan does not move it; preview again")
            await self.backend.set_maintenance(host, True)
            ctx.log(f"{host} is in maintenance: no new VMs, not a migration target")

        steps = [self._flag_step(host, True, mark)]
        if moves:
            steps.append(self._moves_step(f"Move {count(len(moves), 'VM')} off {host}", moves,
                                          replan=True))
        return steps

    def _build_leave(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host, moves = str(params["host"]), _moves(params)

        async def unmark(ctx: StepContext) -> None:
            await self.backend.set_maintenance(host, False)
            ctx.log(f"{host} is back in the pool")

        steps = [self._flag_step(host, False, unmark)]
        if moves:
            steps.append(self._moves_step(f"Bring back {count(len(moves), 'VM')} to {host}", moves))
        return steps

    def _flag_step(
        self, host: str, on: bool, action: Callable[[StepContext], Awaitable[None]]
    ) -> Step:
        async def check(ctx: StepContext) -> bool:
            return (await self.backend.poll_host(host)).maintenance is on

        title = f"Put {host} in maintenance" if on else f"Take {host} out of maintenance"
        return Step(title=title, preview=tuple(self.backend.maintenance_commands(host, on)),
                    action=action, check=check)

    def _moves_step(self, title: str, moves: list[Move], replan: bool = False) -> Step:
        """replan (evacuations): each VM's target is chosen again right before it moves when
        the planned one cannot take it now; the step is done when every VM left the host."""
        limits = self.migration_limits

        async def action(ctx: StepContext) -> None:
            await self._run_moves(moves, ctx, replan)

        async def check(ctx: StepContext) -> bool:
            ok = True
            for m in moves:
                vm = await self.backend.vm_info(m.vm)
                if self.vm_changed is not None:
                    self.vm_changed(vm)
                if replan and vm.host != m.source:
                    continue
                if vm.host != m.target:
                    ctx.log(f"{m.vm} is on {vm.where}, not {m.target}", "err")
                    ok = False
            return ok

        preview: list[str] = []
        for m in moves:
            preview.extend(self._commands(m))
        full = f"{title} (at most {limits.max_total} at once, {limits.max_per_host} per host)"
        return Step(title=full, preview=tuple(preview), action=action, check=check)

    def _commands(self, m: Move) -> tuple[str, ...]:
        stub = Vm(name=m.vm, uuid="", host=m.source, power=PowerState.UNKNOWN, vcpus=0,
                  memory_mb=0)
        if m.live:
            return commands_or_why(lambda: self.backend.migrate_commands(stub, m.target))
        return commands_or_why(lambda: self.backend.relocate_commands(stub, m.target))

    # -- doing the moves ---------------------------------------------------------------------

    async def _run_moves(self, moves: Sequence[Move], ctx: StepContext, replan: bool) -> None:
        """Every move, as many at once as the limits allow (counting this cluster's other runs);
        a failed move does not stop the others; the step fails if any failed."""
        pending = list(moves)
        mine: dict[asyncio.Future[None], Move] = {}
        failed: list[str] = []
        try:
            while pending or mine:
                for m in startable(pending, self.in_flight, self.migration_limits):
                    pending.remove(m)
                    self.in_flight.append(m)
                    mine[asyncio.ensure_future(self._move_one(m, ctx, replan))] = m
                if not mine and not self.in_flight:
                    raise BackendError(f"{pending[0].vm}: cannot start within the limits")
                freed = asyncio.get_running_loop().create_future()  # another run's move ended
                self._freed.append(freed)
                try:
                    await asyncio.wait({*mine, freed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    freed.cancel()
                    self._freed.remove(freed)
                for task in [t for t in mine if t.done()]:
                    m = mine.pop(task)
                    self._ended(m)
                    exc = None if task.cancelled() else task.exception()
                    if task.cancelled() or exc is not None:
                        why = "cancelled" if exc is None else error_message(exc)
                        failed.append(f"{m.vm}: {why}")
                        ctx.log(f"{m.vm}: not moved: {why}", "err")
        finally:
            for task in mine:
                task.cancel()
            await asyncio.gather(*mine, return_exceptions=True)
            for m in mine.values():
                self._ended(m)
        if failed:
            raise BackendError(
                f"{len(failed)} of {count(len(moves), 'VM')} not moved: " + "; ".join(failed))

    def _ended(self, m: Move) -> None:
        self.in_flight.remove(m)
        for waiter in self._freed:
            if not waiter.done():
                waiter.set_result(None)

    async def _move_one(self, m: Move, ctx: StepContext, replan: bool = False) -> None:
        vm = await self.backend.vm_info(m.vm)
        if replan and vm.host not in (m.source, m.target):
            ctx.log(f"{m.vm}: already off {m.source} (on {vm.where})")
            return
        if vm.host == m.target:
            ctx.log(f"{m.vm}: already on {m.target}")
            return
        if replan and vm.host == m.source:
            m = replace(m, target=self._target_now(m, vm, ctx))
        if vm.host != m.source:
            raise BackendError(f"it is on {vm.where} now, not {m.source}")
        elif m.live:
            if vm.power is not PowerState.RUNNING:
                raise BackendError(f"it is {vm.power.value}, not running: preview again")
            await ensure_room(self.backend, vm, m.target, ctx)
            await self._migrate(m, ctx)
        else:
            if vm.power in LIVE:
                raise BackendError(f"it is {vm.power.value} now: preview again")
            await self.backend.relocate(m.vm, m.target)
            ctx.log(f"{m.vm}: {vm.power.value}, moved to {m.target}")

    def _target_now(self, m: Move, vm: Vm, ctx: StepContext) -> str:
        """The planned target if it can take the VM now (not lost or fenced as HA knows,
        reachable, not in maintenance, with room counting the moves on their way to it),
        else the least full host that can; BackendError when none can."""
        bad = dict(self.unusable())
        snap = self.snapshot()
        room = rooms(snap, self.limits, exclude={m.source, *bad})
        sizes = {v.name: v for v in snap.vms}
        for other in self.in_flight:
            if (other.vm != m.vm and other.target in room and other.vm in sizes
                    and sizes[other.vm].host != other.target):
                room[other.target] = room[other.target].taking(sizes[other.vm])
        if m.target in room and room[m.target].fits(vm):
            return m.target
        why = bad.get(m.target) or (
            "it has no room for it now" if m.target in room
            else "it is not usable now (unreachable or in maintenance)")
        done = assign([vm], room)
        if m.vm not in done.placed:
            raise BackendError(f"{m.target} cannot take it ({why}) and no other host can: "
                               + done.unplaced[m.vm])
        target = done.placed[m.vm]
        ctx.log(f"{m.vm}: {m.target} cannot take it ({why}): moving it to {target} instead")
        return target

    async def _migrate(self, m: Move, ctx: StepContext) -> None:
        start = self.clock.now()
        ctx.log(f"{m.vm}: live-migrating {m.source} -> {m.target}")
        last: list[MigrationProgress] = []
        logged = [""]

        def on_progress(p: MigrationProgress) -> None:
            last[:] = [p]
            line = progress_line(p)
            if p.downtime_ms is None and line != logged[0]:  # never the same line twice
                ctx.log(line)
                logged[0] = line

        await self.backend.migrate(m.vm, m.target, on_progress)
        downtime = f", downtime {last[0].downtime_ms} ms" if last and last[0].downtime_ms else ""
        ctx.log(f"{m.vm}: on {m.target} after {self.clock.now() - start:.1f} s{downtime}")
