"""Quitting: at once when nothing runs here; while a run executes, only once confirmed, after
saying what happens to the run (interrupted, resumable from History)."""

from __future__ import annotations

from textual.pilot import Pilot

from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunState
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import DemoApp, wait_until


async def test_quit_asks_while_a_run_executes(running: tuple[DemoApp, Pilot[None]]) -> None:
    demo, pilot = running
    cluster = demo.session.clusters[0]
    vm = next(v for v in cluster.snapshot().vms if v.power is PowerState.RUNNING)
    run = cluster.create_power_run(vm, PowerAction.SHUTDOWN)
    # the clock does not move: the shutdown waits for the VM to stop, executing
    demo.app.run_worker(cluster.execute(run.id), name=run.title, group="runs",
                        exit_on_error=False)
    await wait_until(pilot, lambda: demo.session.executor.is_executing(run.id))

    await pilot.press("q")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    modal = demo.app.screen
    assert isinstance(modal, ConfirmModal)
    assert modal.title_text == "Quit while 1 run executes here?"
    assert f"#{run.id} {run.title}: interrupted" in modal.consequence
    assert "Retry (r) in History resumes it" in modal.consequence
    await pilot.press("n")
    await wait_until(pilot, lambda: not isinstance(demo.app.screen, ConfirmModal))
    assert demo.app.is_running and demo.session.executor.is_executing(run.id)

    await pilot.press("q")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    await pilot.press("y")
    await wait_until(pilot, lambda: not demo.app.is_running, what="the app gone")
    assert demo.session.store.get_run(run.id).state is RunState.INTERRUPTED


async def test_quit_at_once_when_nothing_runs(running: tuple[DemoApp, Pilot[None]]) -> None:
    demo, pilot = running
    await pilot.press("q")
    await wait_until(pilot, lambda: not demo.app.is_running, what="the app gone")
