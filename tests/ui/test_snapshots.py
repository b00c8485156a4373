"""Snapshots of every screen at 120x40 on the simulator: fixed seed, virtual clock, no blink."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent

from mvm_tui.core.graphics_tunnel import JumpBox
from mvm_tui.widgets import graphics

from .conftest import SIZE, DemoApp, finish_latest_run, first_poll_shown, sim_of, wait_until

HISTORY_SECONDS = 120.0  # two minutes of metrics before the picture is taken


@pytest.fixture(autouse=True)
def jump_box(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same jump box on every machine (VM detail's graphical console names it)."""
    monkeypatch.setattr(graphics, "this_jump_box", lambda: JumpBox("jump.example.net", "ops"))


class SnapCompare(Protocol):
    """pytest-textual-snapshot's snap_compare, as these tests call it (the plugin types its
    fixture as taking the app alone)."""

    def __call__(self, app: App[None], *, terminal_size: tuple[int, int],
                 run_before: Callable[[Pilot[None]], Awaitable[None]]) -> bool: ...


async def warmed_up(pilot: Pilot[None], demo: DemoApp) -> None:
    await first_poll_shown(pilot, demo)
    for _ in range(int(HISTORY_SECONDS / 2)):
        await demo.clock.advance(2.0)
    await wait_until(pilot, lambda: demo.app.up_to_date)
    await pilot.pause()


def test_summary(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_summary_with_a_host_lost(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        sim_of(demo).power_off_host("hv2")
        for _ in range(10):
            await demo.clock.advance(2.0)
        await wait_until(pilot, lambda: demo.app.up_to_date)
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_hosts(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_host_detail_summary(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("2", "enter")
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_host_detail_monitoring(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("2", "enter")
        await pilot.pause()
        demo.app.screen.query_one(TabbedContent).active = "host-monitoring"
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_vms(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_vms_filtered(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3", "slash")
        demo.app.screen.query_one(Input).cursor_blink = False
        await pilot.press(*"hv1")
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_vm_detail(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3", "enter")
        await pilot.app.workers.wait_for_complete()  # the guest agent's addresses
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_power_off_confirmation(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3", "slash", *"web-01", "enter", "f")
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_run_detail_and_history(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3", "slash", *"web-01", "enter", "d", "y")
        await finish_latest_run(pilot, demo)
        await pilot.press("escape", "4")
        await wait_until(pilot, lambda: demo.app.up_to_date)
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_run_detail(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3", "slash", *"web-01", "enter", "d", "y")
        await finish_latest_run(pilot, demo)
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)


def test_placement_dialog(snap_compare: SnapCompare, demo: DemoApp) -> None:
    async def before(pilot: Pilot[None]) -> None:
        await warmed_up(pilot, demo)
        await pilot.press("3", "slash", *"db-01", "enter", "p")
        await wait_until(pilot, lambda: bool(demo.app.screen.query("#host-hv3")))
        await pilot.pause()

    assert snap_compare(demo.app, terminal_size=SIZE, run_before=before)
