"""The command palette holds the current screen's actions (its keys), as the README says."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from mvm_tui.runs import RunState
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.maintenance import MaintenanceScreen
from mvm_tui.screens.run_detail import RunDetailScreen

from .conftest import DemoApp, Running, screen_of, wait_until
from .test_run_screen import long_run


def titles(demo: DemoApp) -> list[str]:
    return [c.title for c in demo.app.get_system_commands(demo.app.screen)]


async def choose(pilot: Pilot[None], app: Any, text: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.press(*text)
    await wait_until(pilot, lambda: any(text in str(o.prompt) for o in
                                        app.screen.query_one("CommandList")._options),
                     what=f"{text!r} offered")
    await pilot.press("enter")


async def test_the_hosts_screen_offers_its_host_actions(running: Running) -> None:
    demo, pilot = running
    await pilot.press("2")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
    await pilot.pause()
    host = screen_of(demo.app, HostsScreen).selected_host()
    assert host is not None
    offered = titles(demo)
    for title in ("Maintenance", "What if lost"):
        assert f"{title}: {host.name}" in offered
    await choose(pilot, demo.app, f"Maintenance: {host.name}")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, MaintenanceScreen),
                     what="the maintenance preview, from the palette")


async def test_a_run_screen_offers_the_run_actions_its_state_allows(running: Running) -> None:
    demo, pilot = running
    run_id = long_run(demo, RunState.INTERRUPTED)
    demo.app.push_screen(RunDetailScreen(run_id))
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await pilot.pause()
    offered = titles(demo)
    assert f"Retry / resume: run #{run_id}" in offered
    assert f"Pause: run #{run_id}" not in offered
    assert not any(t.startswith("Back") for t in offered)  # the app's keys are not repeated
