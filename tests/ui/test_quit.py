"""Quitting: at once when nothing runs here; while a run executes, only once confirmed, after
saying what happens to the run (interrupted, resumable from History); while this TUI's HA
service is the active one, only once confirmed, after saying HA stops here and whether a
standby takes over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from mvm_tui.app import MvmApp
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunRecord, RunState
from mvm_tui.services.ha_lock import HaLock
from mvm_tui.session import open_session
from mvm_tui.widgets.confirm import ConfirmModal

from .conftest import SIZE, DemoApp, wait_until


async def executing_shutdown(demo: DemoApp, pilot: Pilot[None]) -> RunRecord:
    """A shutdown run that keeps executing: the clock does not move, so it waits for the VM
    to stop."""
    cluster = demo.session.clusters[0]
    vm = next(v for v in cluster.snapshot().vms if v.power is PowerState.RUNNING)
    run = cluster.create_power_run(vm, PowerAction.SHUTDOWN)
    demo.app.run_worker(cluster.execute(run.id), name=run.title, group="runs",
                        exit_on_error=False)
    await wait_until(pilot, lambda: demo.session.executor.is_executing(run.id))
    return run


async def test_quit_asks_while_a_run_executes(running: tuple[DemoApp, Pilot[None]]) -> None:
    demo, pilot = running
    run = await executing_shutdown(demo, pilot)

    await pilot.press("q")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    modal = demo.app.screen
    assert isinstance(modal, ConfirmModal)
    assert modal.title_text == "Quit while 1 run executes here?"
    assert f"#{run.id} {run.title}: interrupted" in modal.consequence
    assert "Retry (r) in History resumes it" in modal.consequence
    await pilot.press("n")
    await wait_until(pilot, lambda: not isinstance(demo.app.screen, ConfirmModal))
    assert demo.app.is_running
    assert demo.session.executor.is_executing(run.id)

    await pilot.press("q")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    await pilot.press("y")
    await wait_until(pilot, lambda: not demo.app.is_running, what="the app gone")
    assert demo.session.store.get_run(run.id).state is RunState.INTERRUPTED


async def test_quit_at_once_when_nothing_runs(running: tuple[DemoApp, Pilot[None]]) -> None:
    demo, pilot = running
    await pilot.press("q")
    await wait_until(pilot, lambda: not demo.app.is_running, what="the app gone")


def standby(state: str | None) -> Callable[[], Awaitable[str | None]]:
    async def probe() -> str | None:
        return state

    return probe


async def asked(pilot: Pilot[None], demo: DemoApp) -> ConfirmModal:
    await pilot.press("q")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal), what="asked")
    modal = demo.app.screen
    assert isinstance(modal, ConfirmModal)
    return modal


async def test_quit_asks_while_ha_is_active_here_and_says_no_standby_runs(
        with_ha: tuple[DemoApp, Pilot[None]], tmp_path: Path) -> None:
    demo, pilot = with_ha
    assert demo.app.ha is not None
    assert demo.app.ha.status().active
    demo.app.standby_probe = standby("inactive")
    name = demo.session.clusters[0].name
    modal = await asked(pilot, demo)
    assert modal.title_text == "Quit and stop HA here?"
    assert modal.consequence.startswith(
        f"HA of cluster {name} stops here: this process is the active HA service (it holds "
        f"the lock {tmp_path / 'ha' / f'{name}.lock'}).")
    assert ("Standby: no headless HA service runs on this jump box: failover of "
            f"{name} stops until an HA service starts again") in modal.consequence
    await pilot.press("n")
    await wait_until(pilot, lambda: not isinstance(demo.app.screen, ConfirmModal))
    assert demo.app.is_running
    assert demo.app.ha.status().active

    await asked(pilot, demo)
    await pilot.press("y")
    await wait_until(pilot, lambda: not demo.app.is_running, what="the app gone")


async def test_quit_says_the_standby_of_this_jump_box_takes_over(
        with_ha: tuple[DemoApp, Pilot[None]]) -> None:
    demo, pilot = with_ha
    demo.app.standby_probe = standby("activating")
    modal = await asked(pilot, demo)
    assert ("The headless HA service of this jump box (mvm-tui-ha.service, activating) takes "
            "over within about 10 s") in modal.consequence
    demo.app.standby_probe = standby(None)
    await pilot.press("n")
    await wait_until(pilot, lambda: not isinstance(demo.app.screen, ConfirmModal))
    modal = await asked(pilot, demo)
    assert "whether mvm-tui-ha.service runs on this jump box cannot be told" in modal.consequence


async def test_quit_while_a_run_executes_and_ha_is_active_says_both(
        with_ha: tuple[DemoApp, Pilot[None]]) -> None:
    demo, pilot = with_ha
    demo.app.standby_probe = standby("inactive")
    cluster = demo.session.clusters[0]
    run = await executing_shutdown(demo, pilot)
    modal = await asked(pilot, demo)
    assert modal.title_text == "Quit while 1 run executes here?"
    assert modal.consequence.startswith(f"#{run.id} {run.title}: interrupted")
    assert f"HA of cluster {cluster.name} stops here" in modal.consequence


async def test_a_standby_ha_quits_at_once(tmp_path: Path) -> None:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    other = HaLock(cluster.name, tmp_path / "ha")
    other.acquire()  # another HA service of the cluster is the active one
    try:
        ha = build_ha_service(session, cluster, lock_dir=tmp_path / "ha")
        app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts, ha=ha)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.ha_standby is not None, what="standing by")
            await pilot.press("q")
            await wait_until(pilot, lambda: not app.is_running, what="the app gone")
    finally:
        other.release()
