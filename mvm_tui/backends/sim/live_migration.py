"""Live migration on the simulator: pre-copy rounds on the clock, progress about every second,
a switch-over that re-checks the destination's room, and hooks around the switch-over."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from mvm_tui.backends.base import BackendError, HostUnreachable, InvalidState
from mvm_tui.backends.sim.migration import PrecopyPlan
from mvm_tui.backends.sim.spec import MIB, SimClusterSpec
from mvm_tui.backends.sim.state import LIVE, HostState, Migration, VmState, settle
from mvm_tui.clock import Clock
from mvm_tui.models import MigrationProgress, PowerState


class SimLiveMigration:
    """Mixed into SimBackend, which provides the state and lookups declared here."""

    _hosts: dict[str, HostState]
    _clock: Clock
    _rng: random.Random
    _migrations: dict[str, Migration]
    switchover_hooks: list[Callable[[str, str, str, str], None]]
    spec: SimClusterSpec

    if TYPE_CHECKING:  # provided by SimBackend and its other mixins
        def _host(self, name: str) -> HostState: ...
        def _vm(self, name: str) -> VmState: ...
        async def _reach(self, h: HostState) -> None: ...
        def committed(self, host: str) -> tuple[int, int]: ...

    async def migrate(
        self,
        vm: str,
        dest: str,
        on_progress: Callable[[MigrationProgress], None] | None = None,
    ) -> None:
        """Live-migrate a running VM. Takes about memory / (bandwidth - dirty rate) of clock
        time, calling on_progress about every second and once at the end (with downtime_ms).
        The VM belongs to its source host until the switch-over, then to dest."""
        v, src, d = await self._migratable(vm, dest)
        now = self._clock.now()
        self._check_room(v, d)
        bw = self.spec.migration_bandwidth_bps
        plan = PrecopyPlan.make(
            v.memory_mb * MIB, bw, bw * v.profile.dirty_share, self.spec.migration_max_downtime_s
        )
        last_round = plan.stop_at * self._rng.uniform(0.3, 1.0)
        downtime_ms = max(1, round(1000.0 * last_round / bw + self._rng.uniform(8.0, 30.0)))
        source, gen, start = src.spec.name, v.generation, now
        v.migrating_to = dest
        d.incoming_mb += v.memory_mb
        d.incoming_vcpus += v.template.vcpus
        self._migrations[vm] = Migration(source, dest, start, plan)

        def progress(t: float, remaining: float, downtime: int | None) -> MigrationProgress:
            return MigrationProgress.model_construct(
                vm=vm,
                source=source,
                dest=dest,
                elapsed_s=round(t, 3),
                memory_total_bytes=int(plan.total),
                memory_processed_bytes=int(plan.processed(t, switched=downtime is not None)),
                memory_remaining_bytes=int(remaining),
                dirty_rate_bps=round(plan.dirty_rate_at(t), 1),
                downtime_ms=downtime,
            )

        def tick(t: float) -> None:
            if on_progress is not None:
                on_progress(progress(t, plan.remaining(t), None))

        try:
            await self._precopy(v, src, d, gen, start, plan, tick)
            await self._switch_over(v, src, d, gen, downtime_ms)
        finally:
            v.migrating_to = None
            d.incoming_mb -= v.memory_mb
            d.incoming_vcpus -= v.template.vcpus
            self._migrations.pop(vm, None)
        for hook in tuple(self.switchover_hooks):
            hook("after", vm, source, dest)
        if on_progress is not None:
            on_progress(progress(self._clock.now() - start, 0.0, downtime_ms))

    async def _migratable(self, vm: str, dest: str) -> tuple[VmState, HostState, HostState]:
        """The VM, its host and `dest`; InvalidState (or HostUnreachable) when it cannot be
        migrated there now."""
        v = self._vm(vm)
        d = self._host(dest)
        src = self._hosts[v.host]
        if d is src:
            raise InvalidState(f"{vm} is already on {dest}")
        await self._reach(src)
        settle(v, self._clock.now())
        if v.power is not PowerState.RUNNING:
            raise InvalidState(
                f"{vm} is not running" if v.power not in LIVE else f"{vm} is {v.power.value}"
            )
        if v.migrating_to is not None:
            raise InvalidState(f"{vm} is already being migrated to {v.migrating_to}")
        if not d.reachable:
            await self._clock.sleep(self.spec.connect_timeout_s)
            raise HostUnreachable(f"{d.label}: connection timed out")
        if d.maintenance:
            raise InvalidState(f"{dest} is in maintenance")
        return v, src, d

    async def _precopy(self, v: VmState, src: HostState, d: HostState, gen: int, start: float,
                       plan: PrecopyPlan, tick: Callable[[float], None]) -> None:
        """The pre-copy rounds, until the plan's switch-over time: `tick` told the time since
        `start` about every second (not at the end)."""
        # A fixed count of ticks at absolute times: `now - start` compared with the duration
        # could stay below it forever once the gap is smaller than the clock's resolution.
        every = self.spec.migration_progress_s
        ticks = math.ceil(plan.duration / every)
        for k in range(1, ticks + 1):
            await self._clock.sleep(start + min(k * every, plan.duration) - self._clock.now())
            self._check_migration(v, src, d, gen)
            if k < ticks:
                tick(self._clock.now() - start)

    async def _switch_over(self, v: VmState, src: HostState, d: HostState, gen: int,
                           downtime_ms: int) -> None:
        """The guest paused while its last dirty pages go, then it runs on `d`: if `d` still
        has room (restarts may have landed there meanwhile); else it goes on running on the
        source."""
        for hook in tuple(self.switchover_hooks):
            hook("before", v.name, src.spec.name, d.spec.name)
        await self._clock.sleep(downtime_ms / 1000)
        self._check_migration(v, src, d, gen)
        d.incoming_mb -= v.memory_mb
        d.incoming_vcpus -= v.template.vcpus
        try:
            self._check_room(v, d, what=f"switch-over of {v.name} to {d.spec.name} aborted")
        finally:
            d.incoming_mb += v.memory_mb
            d.incoming_vcpus += v.template.vcpus
        del src.vms[v.name]
        d.copies.pop(v.name, None)
        d.vms[v.name] = v
        v.host = d.spec.name

    def _check_room(self, v: VmState, d: HostState, what: str = "") -> None:
        """Raise InvalidState when `d` cannot take `v` without overcommitting its memory (its
        live VMs, its copies that run and the migrations on their way there count)."""
        mem, _ = self.committed(d.spec.name)
        free = d.spec.memory_mb - self.spec.host_base_mem_mb - mem
        if v.memory_mb > free:
            raise InvalidState(
                (f"{what}: " if what else "") + f"{d.spec.name} has not enough free memory "
                f"for {v.name}: needs {v.memory_mb} MB, {max(free, 0)} MB free"
            )

    def _check_migration(self, v: VmState, src: HostState, d: HostState, gen: int) -> None:
        what = f"migration of {v.name} from {src.spec.name} to {d.spec.name}"
        if not src.reachable:
            raise BackendError(f"{what} failed: lost connection to {src.label}")
        if not d.reachable:
            raise BackendError(f"{what} failed: lost connection to {d.label}")
        settle(v, self._clock.now())
        if v.generation != gen or v.power is not PowerState.RUNNING:
            raise BackendError(f"{what} aborted: domain is not running")
