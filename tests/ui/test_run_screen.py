"""The run screen: every step reachable, the keys a run's state allows, modes show lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from textual.containers import VerticalScroll

from mvm_tui.runs import RunState, Step, StepContext, Targets
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vms import VmsScreen

from .conftest import DemoApp, first_poll_shown, wait_until

STEPS = 15


async def _nothing(ctx: StepContext) -> None:
    return None


async def _not_yet(ctx: StepContext) -> bool:
    return False


def _long(params: Mapping[str, Any]) -> Sequence[Step]:
    return [Step(f"step number {i}", (f"echo {i} a", f"echo {i} b"), _nothing, _not_yet)
            for i in range(1, STEPS + 1)]


def long_run(demo: DemoApp, state: RunState) -> int:
    executor = demo.session.clusters[0].executor
    executor.register("test.long", _long)
    run = executor.create("test.long", "A long run", {}, Targets(cluster="demo"))
    if state is not RunState.PENDING:
        demo.session.store.set_run_state(run.id, state, error="stopped for the test")
    return run.id


def shown(app: Any) -> set[str]:
    return {b.binding.description for b in app.active_bindings.values() if b.enabled and
            b.binding.show}


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
async def test_every_step_of_a_long_run_can_be_scrolled_to(demo: DemoApp,
                                                             size: tuple[int, int]) -> None:
    run_id = long_run(demo, RunState.INTERRUPTED)
    async with demo.app.run_test(size=size) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        await pilot.pause()
        pane = demo.app.screen.query_one("#run-steps", VerticalScroll)
        # 15 steps of 3 lines: more than half of either screen, so the pane scrolls
        assert pane.virtual_size.height >= STEPS * 3
        assert pane.max_scroll_y > 0
        assert pane.region.height <= size[1] // 2 + 1
        pane.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: pane.scroll_y == pane.max_scroll_y, what="scrolled")
        last = pane.virtual_size.height - 1
        assert pane.scroll_y + pane.scrollable_content_region.height > last


async def keys_of_run_screen(demo: DemoApp, state: RunState) -> set[str]:
    """The footer's keys on the screen of a run left in `state`."""
    run_id = long_run(demo, state)
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await first_poll_shown(pilot, demo)
        demo.app.push_screen(RunDetailScreen(run_id))
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        await pilot.pause()
        return shown(demo.app)


async def test_an_interrupted_run_offers_retry_and_no_pause(demo: DemoApp) -> None:
    keys = await keys_of_run_screen(demo, RunState.INTERRUPTED)
    assert "Retry / resume" in keys
    assert "Pause" not in keys


async def test_a_finished_run_offers_neither_pause_nor_retry(demo: DemoApp) -> None:
    keys = await keys_of_run_screen(demo, RunState.DONE)
    assert "Pause" not in keys
    assert "Retry / resume" not in keys


async def test_mode_keys_show_the_lists_not_an_old_run_screen(demo: DemoApp) -> None:
    run_id = long_run(demo, RunState.DONE)
    async with demo.app.run_test(size=(160, 48)) as pilot:
        await first_poll_shown(pilot, demo)
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, HostsScreen))
        demo.app.push_screen(RunDetailScreen(run_id))  # as a host action opens its run
        await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(demo.app.screen, VmsScreen), what="vms")
        await pilot.press("2")
        await wait_until(pilot, lambda: demo.app.current_mode == "hosts")
        await pilot.pause()
        assert isinstance(demo.app.screen, HostsScreen)
        await pilot.press("2")  # the mode shown: back to its list as well
        await pilot.pause()
        assert isinstance(demo.app.screen, HostsScreen)
