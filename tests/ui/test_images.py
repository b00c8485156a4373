"""The Images dialog on the demo (issue 17). Expected before running: `i` on the VMs screen
lists the library (debian-12, ubuntu-22.04); `R` renames debian-12 to deb12 (its run done, the
list says deb12 and none of debian-12); `D` on ubuntu-22.04 needs its name typed, then removes
it; once a VM disk is cloned from deb12, `D` on it is refused naming the disk."""

from __future__ import annotations

from textual.widgets import Input

from mvm_tui.backends.sim.workloads import SimWorkloads
from mvm_tui.runs import RunState
from mvm_tui.screens.images import ImagesScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.typed_confirm import TypedConfirmModal

from .conftest import Running, finish_latest_run, screen_of, sim_of, wait_until


async def open_images(running: Running) -> ImagesScreen:
    demo, pilot = running
    await pilot.press("3", "i")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ImagesScreen))
    screen = screen_of(demo.app, ImagesScreen)
    await wait_until(pilot, lambda: len(screen.images) == 2, what="the library read")
    return screen


def workloads(running: Running) -> SimWorkloads:
    w = sim_of(running[0]).workloads()
    assert isinstance(w, SimWorkloads)
    return w


async def test_an_image_is_renamed_and_another_removed(running: Running) -> None:
    demo, pilot = running
    screen = await open_images(running)
    assert [r.key for r in screen.query_one(ResourceTable).rows] == ["debian-12",
                                                                    "ubuntu-22.04"]
    await pilot.press("R")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    screen_of(demo.app, AskModal).query_one("#ask-value", Input).value = "deb12"
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert (run.title, run.state) == ("Rename the image debian-12 to deb12", RunState.DONE)
    assert set(workloads(running).library) == {"deb12", "ubuntu-22.04"}

    await pilot.press("escape")
    screen = await open_images(running)
    table = screen.query_one(ResourceTable)
    table.focus()
    await pilot.press("down")
    await wait_until(pilot, lambda: table.cursor_key == "ubuntu-22.04")
    await pilot.press("D")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, TypedConfirmModal))
    await pilot.press(*"ubuntu-22.04", "enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    assert set(workloads(running).library) == {"deb12"}


async def test_an_image_with_clones_is_not_removed(running: Running) -> None:
    demo, pilot = running
    await workloads(running).clone("debian-12", "vm.web-9.disk0", 20)
    screen = await open_images(running)
    screen.query_one(ResourceTable).focus()
    await pilot.press("D")
    await pilot.pause()
    assert demo.app.screen is screen  # refused: no confirmation
    assert "debian-12" in workloads(running).library
    assert demo.session.store.list_runs() == []
