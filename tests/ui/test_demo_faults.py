"""--demo: the palette injects the simulator's faults, so failover can be watched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.models import HostState, PowerState
from mvm_tui.session import open_session

from .conftest import DemoApp, Running, wait_until
from .test_palette_actions import choose


def titles(app: Any) -> list[str]:
    return [c.title for c in app.get_system_commands(app.screen)]


def host_state(demo: DemoApp, name: str) -> HostState:
    return next(h.state for h in demo.session.clusters[0].snapshot().hosts if h.name == name)


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_power_off_from_the_palette_is_failed_over_then_restored(
        tmp_path: Path, size: tuple[int, int]) -> None:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    sim = cluster.backend
    assert isinstance(sim, SimBackend)
    ha = build_ha_service(session, cluster, lock_dir=tmp_path / "ha")
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts, ha=ha, faults=sim)
    demo = DemoApp(app, clock, session)
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: app.up_to_date and cluster.poller.polls_done >= 3)
        offered = titles(app)
        assert "Demo: power off hv1" in offered
        assert "Demo: cut the network of hv2" in offered
        assert "Demo: crash web-01" in offered
        assert "Demo: restore hv1" not in offered  # it is up
        await choose(pilot, app, "Demo: power off hv1")
        await wait_until(pilot, lambda: any("hv1 powered off" in n.message
                                            for n in app._notifications), what="the notice")
        for _ in range(60):  # HA fences hv1 and restarts its VMs on the others
            await clock.advance(1.0)
            await pilot.pause()
        assert host_state(demo, "hv1") is HostState.UNREACHABLE
        assert sim.where_is("web-01") in ("hv2", "hv3")
        assert "Demo: restore hv1" in titles(app)
        await choose(pilot, app, "Demo: restore hv1")
        for _ in range(10):
            await clock.advance(1.0)
            await pilot.pause()
            if host_state(demo, "hv1") is not HostState.UNREACHABLE:
                break
        assert host_state(demo, "hv1") is not HostState.UNREACHABLE


async def test_a_vm_crashed_from_the_palette(tmp_path: Path) -> None:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    assert isinstance(cluster.backend, SimBackend)
    app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts, faults=cluster.backend)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(pilot, lambda: app.up_to_date and cluster.poller.polls_done >= 3)
        await choose(pilot, app, "Demo: crash web-01")
        await wait_until(pilot, lambda: any("web-01 crashed" in n.message
                                            for n in app._notifications), what="the notice")
        info = await cluster.backend.vm_info("web-01")
        assert info.power is PowerState.CRASHED


async def test_no_faults_without_the_demo(running: Running) -> None:
    demo, _ = running  # the app as built without --demo's faults
    assert not any(t.startswith("Demo:") for t in titles(demo.app))


@pytest.mark.parametrize("demo_mode", [True, False])
def test_the_cli_gives_the_faults_to_the_app_only_with_demo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_mode: bool) -> None:
    from mvm_tui import cli, session

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    given: list[object] = []
    monkeypatch.setattr(MvmApp, "run", lambda self, *a, **k: given.append(self.faults))
    # the demo's simulated cluster in both cases: only --demo puts its faults in the palette
    monkeypatch.setattr(session, "open_session",
                        lambda config, demo: open_session(config, demo=True))
    assert cli._run_tui(demo_config(), demo_mode, None) == 0
    assert (given[0] is not None) is demo_mode
