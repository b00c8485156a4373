"""HA's kept state is saved in the background: a slow store (RADOS writes under latency)
never holds up the checks, only the latest state is written, one save at a time, and nothing
is written while the service may not act."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mvm_tui.backends.sim import SimBackend, demo_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.core.failover import HaSettings, Kind
from mvm_tui.core.failover_memory import export
from mvm_tui.runs import RunExecutor, RunStore
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_failover import FailoverActions

SAVE_S = 60.0


class SlowStore(FailoverActions):
    def __init__(self, sim: SimBackend, clock: VirtualClock) -> None:
        super().__init__(sim.failover(), check_timeout=1.5)
        self.clock = clock
        self.saving = 0
        self.most_at_once = 0
        self.saves: list[dict[str, Any]] = []

    async def save_state(self, state: dict[str, Any]) -> None:
        self.saving += 1
        self.most_at_once = max(self.most_at_once, self.saving)
        try:
            await self.clock.sleep(SAVE_S)
            self.saves.append(state)
        finally:
            self.saving -= 1


SETTINGS = HaSettings(check_interval=2.0, check_timeout=1.5, grace_period=10.0)


def slow_service(tmp_path: Path) -> tuple[HaService, SimBackend, SlowStore, VirtualClock]:
    clock = VirtualClock()
    sim = demo_cluster(clock)
    store = SlowStore(sim, clock)
    service = HaService(sim, clock, SETTINGS,
                        RunExecutor(RunStore(tmp_path / "r.sqlite3"), clock), store)
    return service, sim, store, clock


async def test_a_slow_save_never_holds_the_checks_up(tmp_path: Path) -> None:
    service, sim, store, clock = slow_service(tmp_path)
    settings = SETTINGS
    host, t0 = sim.hosts[0].name, clock.now()
    service.start()
    await clock.advance(3.0)  # the first save is under way (a minute)
    assert store.saving == 1
    sim.cut_network(host)
    await clock.advance(2 * settings.check_interval + settings.check_timeout)
    suspect = [d for d in service.decisions if d.kind is Kind.SUSPECT]
    assert [d.host for d in suspect] == [host]  # seen while the save still runs
    assert suspect[0].time - t0 < SAVE_S
    assert store.saves == []
    await clock.advance(2 * SAVE_S)
    assert store.most_at_once == 1
    assert len(store.saves) == 2  # the first state, then only the latest one
    assert store.saves[-1] == export(service.engine)
    await service.stop()


async def test_nothing_is_saved_while_the_service_may_not_act(tmp_path: Path) -> None:
    service, sim, store, clock = slow_service(tmp_path)
    service.start()
    await clock.advance(SAVE_S + 5.0)
    assert len(store.saves) == 1
    sim.cut_network(sim.hosts[0].name)  # (a change to save)
    may_act = service._may_act
    service._may_act = lambda: "the lease is another's"  # type: ignore[method-assign]
    await clock.advance(SAVE_S)
    assert len(store.saves) == 1
    service._may_act = may_act  # type: ignore[method-assign]
    await clock.advance(SAVE_S + 5.0)
    assert len(store.saves) == 2
    assert store.saves[-1] == export(service.engine)
    await service.stop()
