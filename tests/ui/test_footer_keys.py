"""The footer of every main screen keeps `?` (keys) and `q` (quit) visible at 80 columns: they
come first; the keys that do not fit stay in the command palette."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.host_detail import HostDetailScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.provisioning import ProvisioningScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.summary import SummaryScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.vm_table import VmTable

from .conftest import DemoApp, first_poll_shown, make_demo, wait_until

Opener = Callable[[DemoApp, Pilot[None]], Awaitable[None]]


def keys(*pressed: str) -> Opener:
    async def press(demo: DemoApp, pilot: Pilot[None]) -> None:
        await pilot.press(*pressed)
    return press


async def run_detail(demo: DemoApp, pilot: Pilot[None]) -> None:
    await pilot.press("3", "slash", *"web-01", "enter", "f")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")


async def provisioning(demo: DemoApp, pilot: Pilot[None]) -> None:
    demo.app.push_screen(ProvisioningScreen("demo", after_run=0))


SCREENS: dict[str, tuple[Opener, type[Screen[None]]]] = {
    "summary": (keys("1"), SummaryScreen),
    "hosts": (keys("2"), HostsScreen),
    "host detail": (keys("2", "enter"), HostDetailScreen),
    "VMs": (keys("3"), VmsScreen),
    "VM detail": (keys("3", "enter"), VmDetailScreen),
    "history": (keys("4"), HistoryScreen),
    "run": (run_detail, RunDetailScreen),
    "provisioning": (provisioning, ProvisioningScreen),
}


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("name", list(SCREENS))
async def test_the_footer_shows_help_and_quit(tmp_path: Path, name: str,
                                              size: tuple[int, int]) -> None:
    opener, kind = SCREENS[name]
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        await opener(demo, pilot)
        await wait_until(pilot, lambda: isinstance(demo.app.screen, kind), what=name)
        await pilot.pause()
        screen = demo.app.screen
        shown = screen.query_one(SteadyFooter).shown_keys()
        assert shown.get("question_mark") == "Keys", shown
        assert shown.get("q") == "Quit", shown
        assert len(shown) > 2, shown  # the screen's own keys follow as far as they fit


async def test_the_footer_is_recomposed_only_when_the_vm_actions_it_offers_change(
        tmp_path: Path) -> None:
    """The footer was recomposed at every refresh and cursor move (20-30 ms at 5,000 VMs,
    issue 16): now only when the selected VM's power actions differ from those shown."""
    demo = make_demo(tmp_path)
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await first_poll_shown(pilot, demo)
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen))
        screen = demo.app.screen
        assert isinstance(screen, VmsScreen)
        table = screen.query_one(VmTable)
        refreshed: list[str | None] = []
        screen.refresh_bindings = (  # type: ignore[method-assign]
            lambda: refreshed.append(table.cursor_key))
        screen.refresh_inventory()
        screen.refresh_inventory()
        assert refreshed == []
        vms = {v.name: v for v in demo.app.cluster.snapshot().vms}
        powers = [vms[row.key].power for row in table.rows]
        first = powers[0]
        same = powers.index(first, 1)  # another VM in the same power state
        other = next(i for i, p in enumerate(powers) if p is not first)
        table.cursor = same
        await pilot.pause()
        assert refreshed == []
        table.cursor = other
        await pilot.pause()
        assert refreshed == [table.rows[other].key]
