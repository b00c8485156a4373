"""Auto balancing as Runs: every `interval`, plan a round (core/balance.plan_balance) on the
cluster's current snapshot and live-migrate each planned VM as its own Run, several at once.

- A round is planned on the snapshot with the migrations still in flight shown at their
  targets (memory is exact, so a host is not relieved twice) and passed as `in_flight`, so
  plan_balance keeps max_total and max_per_host over the rounds.
- The next round is armed when a round's planning ends, not when its migrations end.
- A VM a balancing move moved (or failed to move) is left alone for `cooldown` seconds after
  that move ended, so VMs do not bounce and a failing migration is not retried at once.
- Settings are read at every round: replace `settings` to turn balancing on or off.

Run params hold the move, so an interrupted run resumes (re-checked) as it was previewed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mvm_tui.backends.base import BackendError, ClusterBackend, commands_or_why
from mvm_tui.clock import Clock
from mvm_tui.config import BalanceConfig
from mvm_tui.core.balance import BalanceSettings, host_loads, plan_balance
from mvm_tui.core.maintenance import Move
from mvm_tui.core.placement import Limits
from mvm_tui.models import ClusterSnapshot, Placement, PowerState, Vm
from mvm_tui.runs import RunExecutor, RunState, Step, StepContext, Targets, error_message
from mvm_tui.services.placement import ensure_room, migration_reporter

logger = logging.getLogger(__name__)

MIGRATE = "balance.migrate"


def balance_settings(config: BalanceConfig) -> BalanceSettings:
    """The settings of a cluster's `[clusters.balance]` section."""
    return BalanceSettings(config.enabled, config.threshold_pct, config.max_total,
                           config.max_per_host)


@dataclass
class BalanceAction:
    """One balancing move, for the UI: running until its run ends."""

    move: Move
    run_id: int
    started: float
    state: RunState = RunState.RUNNING
    error: str | None = None


class Balancer:
    """Runs the auto-balancing rounds of one cluster."""

    def __init__(
        self,
        backend: ClusterBackend,
        clock: Clock,
        executor: RunExecutor,
        settings: BalanceSettings,
        limits: Limits,
        snapshot: Callable[[], ClusterSnapshot],
        *,
        interval: float = 60.0,
        cooldown: float = 600.0,
        vm_changed: Callable[[Vm], None] | None = None,
        other_moves: Callable[[], Sequence[Move]] | None = None,
        keep: int = 50,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.executor = executor
        self.settings = settings
        self.limits = limits
        self.snapshot = snapshot
        self.interval = interval
        self.cooldown = cooldown
        self.vm_changed = vm_changed  # told each moved VM's fresh state (poller.update_vm)
        self.other_moves = other_moves  # migrations of other runs (maintenance) to count
        self.kind = f"{backend.name}:{MIGRATE}"
        self.in_flight: list[Move] = []
        self.recent: deque[BalanceAction] = deque(maxlen=keep)
        self._cool_until: dict[str, float] = {}  # VM -> end of its cool-down
        self._listeners: list[Callable[[BalanceAction], None]] = []
        self._loop_task: asyncio.Task[None] | None = None
        self._moves: set[asyncio.Task[None]] = set()
        executor.register(self.kind, self._build)

    # -- start, stop, rounds -------------------------------------------------------------------

    def start(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._loop(), name=f"balance {self.kind}")

    async def stop(self) -> None:
        """Stop the rounds and cancel the migrations in flight (their runs are interrupted)."""
        tasks = [t for t in (self._loop_task, *self._moves) if t is not None]
        self._loop_task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def cooling(self) -> dict[str, float]:
        """The VMs in their cool-down now, with when it ends."""
        now = self.clock.now()
        return {vm: t for vm, t in self._cool_until.items() if t > now}

    def subscribe(self, listener: Callable[[BalanceAction], None]) -> Callable[[], None]:
        """Call `listener` when a balancing move starts and when it ends; returns unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def _loop(self) -> None:
        while True:
            try:
                self.run_round()
            except Exception:
                logger.exception("balancing round of %s failed", self.backend.name)
            await self.clock.sleep(self.interval)  # armed once the planning is done

    def run_round(self) -> list[Move]:
        """Plan one round and start its migrations (in the background); returns them."""
        if not self.settings.enabled:
            return []
        self._cool_until = self.cooling()
        busy = [*self.in_flight, *(self.other_moves() if self.other_moves else ())]
        view = planning_view(self.snapshot(), busy, self._cool_until)
        moves = plan_balance(view, self.settings, self.limits, in_flight=busy)
        loads = host_loads(view, self.limits)
        for m in moves:
            self._start(m, loads[m.source].pct)
        return moves

    def _start(self, m: Move, load_pct: float) -> None:
        threshold = self.settings.threshold_pct
        title = (f"Balance: live-migrate {m.vm} from {m.source} to {m.target} "
                 f"({m.source} at {load_pct:.0f}% load, threshold {threshold:g}%)")
        params = {"vm": m.vm, "source": m.source, "target": m.target,
                  "load_pct": round(load_pct, 1), "threshold_pct": threshold}
        run = self.executor.create(
            self.kind, title, params, Targets(cluster=self.backend.name, host=m.source, vm=m.vm))
        action = BalanceAction(m, run.id, self.clock.now())
        self.in_flight.append(m)
        self.recent.append(action)
        self._tell(action)
        task = asyncio.create_task(self._execute(action), name=title)
        self._moves.add(task)
        task.add_done_callback(self._moves.discard)

    async def _execute(self, action: BalanceAction) -> None:
        try:
            record = await self.executor.execute(action.run_id)
            action.state, action.error = record.state, record.error
        except asyncio.CancelledError:
            action.state, action.error = RunState.INTERRUPTED, "cancelled"
            raise
        except Exception as exc:  # the run could not be executed at all
            action.state, action.error = RunState.FAILED, error_message(exc)
            logger.warning("balancing run %d: %s", action.run_id, action.error)
        finally:
            self.in_flight.remove(action.move)
            self._cool_until[action.move.vm] = self.clock.now() + self.cooldown
            self._tell(action)

    def _tell(self, action: BalanceAction) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(action)
            except Exception:
                logger.exception("a balancing listener failed")

    # -- the run -------------------------------------------------------------------------------

    def _build(self, params: Mapping[str, Any]) -> Sequence[Step]:
        name, source, dest = str(params["vm"]), str(params["source"]), str(params["target"])
        backend = self.backend

        async def migrate(ctx: StepContext) -> None:
            vm = await backend.vm_info(name)
            if vm.host == dest:
                ctx.log(f"{name} is on {dest} already")
                return
            if vm.host != source:
                raise BackendError(f"{name} is on {vm.where} now, not {source}")
            if vm.power is not PowerState.RUNNING:
                raise BackendError(f"{name} is {vm.power.value}: only a running VM is moved")
            ctx.log(f"{name} runs on {source}; migrating to {dest}")
            await ensure_room(backend, vm, dest, ctx)
            await backend.migrate(name, dest, migration_reporter(ctx))

        async def moved(ctx: StepContext) -> bool:
            vm = await backend.vm_info(name)
            if self.vm_changed is not None:
                self.vm_changed(vm)
            if vm.host == dest and vm.power is PowerState.RUNNING:
                ctx.log(f"{name} runs on {dest}")
                return True
            ctx.log(f"{name} is {vm.power.value} on {vm.where}; expected running on {dest}", "err")
            return False

        stub = Vm(name=name, uuid="", host=source, power=PowerState.RUNNING, vcpus=0,
                  memory_mb=0)
        preview = commands_or_why(lambda: backend.migrate_commands(stub, dest))
        return [Step(title=f"Live-migrate {name} from {source} to {dest}", preview=preview,
                     action=migrate, check=moved)]


def planning_view(
    snap: ClusterSnapshot, in_flight: Sequence[Move], cooling: Mapping[str, float]
) -> ClusterSnapshot:
    """The snapshot a round plans on: VMs in flight already at their targets, VMs cooling
    down held where they are (as if pinned)."""
    targets = {m.vm: m.target for m in in_flight}
    vms: list[Vm] = []
    for vm in snap.vms:
        update: dict[str, Any] = {}
        if vm.name in targets:
            update["host"] = targets[vm.name]
        if vm.name in cooling:
            update["placement"] = Placement.PINNED
        vms.append(vm.model_copy(update=update) if update else vm)
    return snap.model_copy(update={"vms": tuple(vms)})
