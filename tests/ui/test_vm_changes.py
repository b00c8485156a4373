"""Resize and delete a VM in the TUI, on the demo (issue 17). Expected before running:
- `e` on web-01 (1 vCPU of at most 4, 2048 MiB of at most 8192) opens the resize dialog,
  which says, as values are typed, what is live and what waits for a restart; 2 vCPUs and
  2560 MiB planned, the confirmation lists the live steps and their commands; confirmed, the
  run is done and web-01 has 2 vCPUs and 2560 MiB;
- a value the dialog cannot take says why and does not close it;
- `D` on web-02 opens a confirmation whose button does nothing until "web-02" is typed;
  typed and entered, the delete run is done and web-02 is gone, its disk in the trash.
"""

from __future__ import annotations

from textual.widgets import Button, Input, Static

from mvm_tui.backends.sim.workloads import SimWorkloads
from mvm_tui.runs import RunState
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_resize import ResizeScreen
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.typed_confirm import TypedConfirmModal
from mvm_tui.widgets.vm_table import VmTable

from .conftest import Running, finish_latest_run, screen_of, sim_of, wait_until
from .test_placement import vm


async def select(running: Running, name: str) -> None:
    demo, pilot = running
    await pilot.press("3", "slash", *name, "enter")
    await wait_until(pilot, lambda: demo.app.screen.query_one(VmTable).cursor_key == name)


async def test_a_resize_through_the_dialog(running: Running) -> None:
    demo, pilot = running
    await select(running, "web-01")
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ResizeScreen))
    dialog = screen_of(demo.app, ResizeScreen)
    dialog.query_one("#resize-vcpus", Input).value = "2"
    dialog.query_one("#resize-memory", Input).value = "2100"
    await pilot.pause()
    plan = str(dialog.query_one("#resize-plan", Static).render())
    assert "at its next boot (52 MiB more is not a whole number of 128 MiB modules)" in plan
    dialog.query_one("#resize-memory", Input).value = "2560"
    await pilot.pause()
    await pilot.click("#resize-apply")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    steps = screen_of(demo.app, ConfirmModal).steps
    assert [s.title for s in steps] == ["Set the vCPUs of web-01 to 2, live",
                                        "Add a 512 MiB memory module to web-01, live"]
    assert vm(demo, "web-01").vcpus == 1  # nothing before confirming
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    assert demo.session.store.list_runs()[0].state is RunState.DONE
    await wait_until(pilot, lambda: (vm(demo, "web-01").vcpus, vm(demo, "web-01").memory_mb)
                     == (2, 2560), what="web-01 resized in the inventory")


async def test_a_wrong_value_keeps_the_dialog_open(running: Running) -> None:
    demo, pilot = running
    await select(running, "web-01")
    await pilot.press("e")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ResizeScreen))
    dialog = screen_of(demo.app, ResizeScreen)
    dialog.query_one("#resize-vcpus", Input).value = "0"
    await pilot.pause()
    await pilot.click("#resize-apply")
    await pilot.pause()
    assert demo.app.screen is dialog
    assert "vcpus: 0 is not from 1 to 256" in str(dialog.query_one("#resize-plan",
                                                                   Static).render())


async def test_a_delete_needs_the_name_typed(running: Running) -> None:
    demo, pilot = running
    await select(running, "web-02")
    await pilot.press("D")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, TypedConfirmModal))
    modal = screen_of(demo.app, TypedConfirmModal)
    assert modal.steps[0].title == "Mark web-02 deleted, so HA never starts it again"
    assert modal.query_one("#typed-yes", Button).disabled
    await pilot.press(*"web-0", "enter")
    assert demo.app.screen is modal  # not the name: nothing
    await pilot.press("2", "enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert (run.title, run.state) == ("Delete web-02", RunState.DONE)
    w = sim_of(demo).workloads()
    assert isinstance(w, SimWorkloads)
    assert "web-02" in w.trashed
    assert await w.defined("web-02") == {}
