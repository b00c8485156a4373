"""The Snapshots dialog on the demo (issue 19). Expected before running:
- `b` on web-01 (running, with a guest agent) lists no snapshot; `t` offers a dated name,
  "before-change" typed, the confirmation shows the freeze script; confirmed, the run is done
  and the list shows before-change, "frozen by agent", on all its disks;
- `r` on it while web-01 runs is refused, saying to shut it down, with nothing to confirm and
  no run; once web-01 is shut off, `r` needs "web-01" typed, then the revert run is done;
- `D` on it asks, then the delete run is done and the list is empty again;
- on VM detail, `b` opens the same dialog (db-01: its two demo snapshots); one on only some
  of its disks says so, and `r` on it is refused.
"""

from __future__ import annotations

from textual.widgets import Input, Static

from mvm_tui.models import PowerAction
from mvm_tui.runs import RunState
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.snapshots import SnapshotsScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.typed_confirm import TypedConfirmModal

from .conftest import Running, finish_latest_run, screen_of, sim_of, wait_until
from .test_vm_changes import select


async def open_snapshots(running: Running) -> SnapshotsScreen:
    demo, pilot = running
    await pilot.press("b")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, SnapshotsScreen))
    screen = screen_of(demo.app, SnapshotsScreen)
    await wait_until(pilot, lambda: screen.loaded, what="its snapshots read")
    return screen


def cells(screen: SnapshotsScreen) -> list[tuple[str, ...]]:
    return [tuple(str(c) for c in r.cells) for r in screen.query_one(ResourceTable).rows]


async def run_done(running: Running, title: str) -> None:
    demo, pilot = running
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    await finish_latest_run(pilot, demo)
    run = demo.session.store.list_runs()[0]
    assert (run.title, run.state) == (title, RunState.DONE), run.error
    await pilot.press("escape")


async def test_take_revert_and_delete_a_snapshot(running: Running) -> None:
    demo, pilot = running
    await select(running, "web-01")
    screen = await open_snapshots(running)
    assert cells(screen) == []

    await pilot.press("t")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    box = screen_of(demo.app, AskModal).query_one("#ask-value", Input)
    assert box.value == "snap-20260101-000000"  # (the virtual clock's start)
    box.value = "before-change"
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    (step,) = screen_of(demo.app, ConfirmModal).steps
    assert "domfsfreeze" in step.preview[0]
    assert "vms/web-01@before-change" in step.preview[0]
    await pilot.press("y")
    await run_done(running, "Snapshot web-01 (before-change)")

    screen = await open_snapshots(running)
    ((name, _taken, size, consistency, complete),) = cells(screen)
    assert (name, size, consistency, complete) == ("before-change", "20.0 GiB",
                                                   "frozen by agent", "all")

    screen.query_one(ResourceTable).focus()
    await pilot.press("r")
    await wait_until(pilot, lambda: bool(demo.app._notifications), what="a refusal")
    (said,) = [n.message for n in demo.app._notifications]
    assert "web-01 is running: shut it down" in said
    assert demo.app.screen is screen
    assert len(demo.session.store.list_runs()) == 1

    sim = sim_of(demo)
    await sim.vm_power(await sim.vm_info("web-01"), PowerAction.POWEROFF)
    await pilot.press("r")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, TypedConfirmModal))
    assert screen_of(demo.app, TypedConfirmModal).steps[0].preview == (
        "hv1: rbd snap rollback --no-progress vms/web-01@before-change",)
    await pilot.press(*"web-01", "enter")
    await run_done(running, "Revert web-01 to before-change")

    screen = await open_snapshots(running)
    screen.query_one(ResourceTable).focus()
    await pilot.press("D")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")
    await run_done(running, "Delete the snapshot before-change of web-01")
    screen = await open_snapshots(running)
    assert cells(screen) == []


async def test_vm_detail_opens_the_snapshots(running: Running) -> None:
    demo, pilot = running
    w = sim_of(demo).workloads()
    assert w is not None
    del w.rbd["db-01-disk1"].snaps["weekly"]  # (half made, or made by hand)
    await select(running, "db-01")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen))
    screen = await open_snapshots(running)
    assert [(c[0], c[3], c[4]) for c in cells(screen)] == [
        ("before-pg16", "frozen by agent", "all"), ("weekly", "frozen by agent", "some")]
    said = str(screen.query_one("#snapshots-said", Static).render())
    assert "2 snapshots; weekly is only on db-01; t: take" in said
    table = screen.query_one(ResourceTable)
    table.focus()
    await pilot.press("down", "r")
    await wait_until(pilot, lambda: bool(demo.app._notifications), what="a refusal")
    (said,) = [n.message for n in demo.app._notifications]
    assert "db-01 cannot go back to it" in said
    assert demo.app.screen is screen
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, VmDetailScreen))


async def test_a_snapshot_with_other_vms_at_one_instant(running: Running) -> None:
    """`g` on web-01: db-01 named, the group's name given, the confirmation shows each host's
    freeze and thaw; the run is done and both VMs have the snapshot."""
    demo, pilot = running
    await select(running, "web-01")
    await open_snapshots(running)
    await pilot.press("g")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal))
    screen_of(demo.app, AskModal).query_one("#ask-value", Input).value = "db-01"
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, AskModal)
                     and screen_of(demo.app, AskModal).query_one("#ask-value", Input).value
                     != "db-01", what="the name asked")
    screen_of(demo.app, AskModal).query_one("#ask-value", Input).value = "app-1"
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    (step,) = screen_of(demo.app, ConfirmModal).steps
    assert sum("domfsfreeze" in line for line in step.preview) == 1  # (both on hv1)
    assert sum("kill -- -" in line for line in step.preview) == 1
    await pilot.press("y")
    await run_done(running, "Snapshot web-01, db-01 at one instant (app-1)")
    c = demo.session.clusters[0]
    for vm in ("web-01", "db-01"):
        assert "app-1" in {s.name for s in await c.snapshots.of(c.vm(vm))}
