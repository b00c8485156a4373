"""The HA services of a scenario, each a process of its own (its own run store and executor):
started, crashed like a `kill -9`, started again; with a RADOS lease (tests.scenarios.fake_rados)
when the scenario says `lease = SECONDS`, so a second one can take over from the first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock
from mvm_tui.core.failover import Decision, HaSettings
from mvm_tui.runs import RunExecutor, RunState, RunStore
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_failover import FailoverActions
from mvm_tui.services.ha_lease import RadosLease
from tests.scenarios.fake_rados import FakeRados

FenceStep = tuple[float, bool, Callable[[], None]]  # clock seconds, works, as it begins


class ScenarioHaActions(FailoverActions):
    """HA's actions on the simulator, whose blocklist command of a host may be slow, fail,
    and bring a fault as it begins (the event `fence-step`)."""

    def __init__(self, sim: SimBackend, clock: VirtualClock,
                 steps: dict[str, FenceStep]) -> None:
        super().__init__(sim.failover(), check_timeout=1.5)
        self.clock, self.steps = clock, steps

    async def fence(self, host: str, expiry_s: float) -> None:
        step = self.steps.get(host)
        if step is None:
            await super().fence(host, expiry_s)
            return
        seconds, works, begin = step
        begin()
        await self.clock.sleep(seconds)
        if not works:
            raise BackendError("ceph osd blocklist add failed (scenario)")
        await super().fence(host, expiry_s)


class Services:
    def __init__(self, sim: SimBackend, clock: VirtualClock, settings: HaSettings, db: Path,
                 lease: float | None, lines: list[str], t0: float) -> None:
        self.sim, self.clock, self.settings, self.db = sim, clock, settings, db
        self.lease, self.lines, self.t0 = lease, lines, t0
        self.rados = FakeRados(clock)
        self.live: dict[int, HaService] = {}
        self.stores: dict[int, RunStore] = {}  # the latest store of each service
        self.ever: set[int] = set()
        self.fence_steps: dict[str, FenceStep] = {}  # host -> how HA's blocklist of it goes

    def db_of(self, n: int) -> Path:
        return self.db if n == 1 else self.db.with_name(f"{self.db.stem}-{n}{self.db.suffix}")

    def start(self, n: int = 1) -> HaService:
        """Start service n (a new process: it knows only what it finds)."""
        assert n not in self.live, f"HA service {n} is running already"
        store = RunStore(self.db_of(n))
        executor = RunExecutor(store, self.clock)
        executor.recover()  # what a new process does at start-up
        lease = None
        if self.lease is not None:
            lease = RadosLease(self.rados, self.sim.name, "vms", self.lease,
                               monotonic=self.clock.now)
            lease.description = f"ha{n}"
        service = HaService(self.sim, self.clock, self.settings, executor,
                            ScenarioHaActions(self.sim, self.clock, self.fence_steps),
                            lease=lease)

        def show(d: Decision) -> None:
            line = d.line(self.t0)
            if n != 1:
                t, rest = line.split(" ", 1)
                line = f"{t} ha{n} {rest}"
            self.lines.append(line)

        service.subscribe(show)
        service.start()
        self.live[n], self.stores[n] = service, store
        self.ever.add(n)
        return service

    async def crash(self, n: int = 1) -> None:
        """`kill -9`: its tasks stop where they are, nothing is released or cleaned up; the
        runs it was executing stay "running" in its store."""
        service = self.live.pop(n)
        executing = list(service.runs.executor._executing)
        tasks = [t for t in (service._lease_task, *service._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        service._tasks, service._lease_task = [], None
        store = self.stores[n]
        for run_id in executing:
            if store.get_run(run_id).state is RunState.INTERRUPTED:
                store.set_run_state(run_id, RunState.RUNNING, error=None)

    async def stop_all(self) -> None:
        for n in list(self.live):
            with contextlib.suppress(Exception):
                await self.live.pop(n).stop()

    def runs(self) -> list[tuple[float, str, dict[str, Any], str]]:
        """Every service's runs: (created, kind, params, state), oldest first."""
        out = []
        for n in sorted(self.ever):
            store = RunStore(self.db_of(n))
            out += [(r.created, r.kind.split(":")[-1], r.params, r.state.value)
                    for r in reversed(store.list_runs(limit=10_000))]
            store.close()
        return sorted(out, key=lambda r: r[0])

    def close(self) -> None:
        for store in self.stores.values():
            with contextlib.suppress(Exception):
                store.close()
