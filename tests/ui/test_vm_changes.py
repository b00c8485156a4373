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

import io

from rich.console import Console
from textual.widgets import Button, Input, Static, TabbedContent

from mvm_tui.backends.sim.workloads import SimWorkloads
from mvm_tui.models import PowerState
from mvm_tui.runs import RunState
from mvm_tui.screens.deleted_vms import DeletedVmsScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vm_resize import ResizeScreen
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
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


async def test_vm_detail_says_a_resize_waits_for_a_restart(running: Running) -> None:
    demo, pilot = running
    cluster = demo.session.clusters[0]
    params = await cluster.change_params(vm(demo, "web-01"), {"kind": "resize", "vcpus": 6})
    run = cluster.create_change_run(params)
    demo.app.run_worker(cluster.execute(run.id))
    await finish_latest_run(pilot, demo)
    await select(running, "web-01")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen))
    facts = demo.app.screen.query_one("#vm-facts", Static)

    def shown() -> str:
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(facts.content)
        return console.export_text()

    await wait_until(pilot, lambda: "pending restart: 6 vCPUs" in shown(),
                     what="the pending restart in VM detail")


async def test_disks_and_nics_change_from_vm_detail(running: Running) -> None:
    demo, pilot = running
    await select(running, "web-01")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen))
    detail = demo.app.screen
    detail.query_one("#vm-tabs", TabbedContent).active = "vm-disks"
    await pilot.pause()
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    screen_of(demo.app, AskModal).query_one(Input).value = "5"
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    assert screen_of(demo.app, ConfirmModal).steps[1].title == \
        "Attach vm.web-01.disk1 to web-01 as vdb"
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    await wait_until(pilot, lambda: "vdb" in {d.target for d in vm(demo, "web-01").disks},
                     what="vdb in the inventory")
    await pilot.press("escape")
    await wait_until(pilot, lambda: demo.app.screen is detail)
    detail.query_one("#vm-tabs", TabbedContent).active = "vm-nics"
    await pilot.pause()
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    screen_of(demo.app, AskModal).query_one(Input).value = "x"
    await pilot.press("enter")
    await pilot.pause()
    assert demo.app.screen is detail  # not a number: said, nothing planned
    assert len(demo.session.store.list_runs()) == 1


async def test_a_stopped_vm_is_cloned_from_its_name_asked(running: Running) -> None:
    demo, pilot = running
    await select(running, "ci-runner-01")
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    await pilot.press(*"ci-runner-02", "enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    steps = screen_of(demo.app, ConfirmModal).steps
    assert steps[0].title == "Copy the disks of ci-runner-01 as ci-runner-02's"
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert (run.title, run.state) == ("Clone ci-runner-01 as ci-runner-02", RunState.DONE)
    assert (await sim_of(demo).vm_info("ci-runner-02")).uuid != vm(demo, "ci-runner-01").uuid


async def test_a_deleted_vm_is_restored_from_the_deleted_vms_dialog(running: Running) -> None:
    demo, pilot = running
    cluster = demo.session.clusters[0]
    uuid = vm(demo, "web-02").uuid
    run = cluster.create_delete_run(cluster.delete_params(vm(demo, "web-02")))
    demo.app.run_worker(cluster.execute(run.id))
    await finish_latest_run(pilot, demo)
    await pilot.press("3", "T")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, DeletedVmsScreen))
    dialog = screen_of(demo.app, DeletedVmsScreen)
    await wait_until(pilot, lambda: "web-02" in dialog.kept, what="web-02 listed")
    dialog.query_one(ResourceTable).focus()
    await pilot.press("ctrl+r")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    assert [s.title for s in screen_of(demo.app, ConfirmModal).steps][-1] == "Start web-02"
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    assert demo.session.store.list_runs()[0].state is RunState.DONE
    restored = await sim_of(demo).vm_info("web-02")
    assert (restored.uuid, restored.power) == (uuid, PowerState.RUNNING)
    w = sim_of(demo).workloads()
    assert w is not None
    assert await w.deleted_vms() == []
