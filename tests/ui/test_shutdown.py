"""A shutdown the guest ignores (the demo's license-srv ignores ACPI, as the lab's BIOS-only
guests do): from its run, power it off (confirmed, with the exact command) or stop waiting; a
VM that goes off otherwise is said so, from libvirt's reason; a wait that times out says so
and offers the power-off."""

from __future__ import annotations

from textual.app import App
from textual.pilot import Pilot

from mvm_tui.backends.sim import SimBackend
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunRecord, RunState
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.services.power_runs import OUTCOME
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.resource_table import ResourceTable

from .conftest import DemoApp, Running, advance, finish_latest_run, screen_of, wait_until

APPLIANCE = "license-srv"  # its guest ignores ACPI


def footer_actions(app: App[None]) -> set[str]:
    return {b.binding.description for b in app.active_bindings.values() if b.enabled and
            b.binding.show}


def sim(demo: DemoApp) -> SimBackend:
    backend = demo.session.clusters[0].backend
    assert isinstance(backend, SimBackend)
    return backend


async def power(demo: DemoApp, vm: str) -> PowerState:
    return (await sim(demo).vm_info(vm)).power


async def shut_down(pilot: Pilot[None], demo: DemoApp, vm: str = APPLIANCE) -> RunRecord:
    """`d` on the VM, confirmed; returns its run once it waits for the guest."""
    await pilot.press("3", "slash", *vm, "enter", "d")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    store, waits = demo.session.store, demo.session.clusters[0].power.waits
    await wait_until(pilot, lambda: waits.of_vm(vm) is not None, what="the wait")
    await pilot.pause()
    return store.list_runs()[0]


def log_of(demo: DemoApp, run_id: int) -> list[str]:
    return [line.text for line in demo.session.store.log(run_id)]


def head(demo: DemoApp) -> str:
    return str(demo.app.screen.query_one("#run-head").render())


async def test_a_guest_that_ignores_the_shutdown_is_powered_off_from_its_run(
        running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    await advance(pilot, demo, 30.0)
    assert await power(demo, APPLIANCE) is PowerState.RUNNING  # the guest ignored it
    assert {"Power off now", "Stop waiting"} <= footer_actions(demo.app)
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    modal = demo.app.screen
    assert isinstance(modal, ConfirmModal)
    assert modal.title_text == f"Power off {APPLIANCE} on hv1 now?"
    assert "has not shut down in 30 s" in modal.consequence
    commands = [c for step in modal.steps for c in step.preview]
    assert commands == ["virsh -c 'qemu+libssh2://root@192.0.2.11/system?no_verify=0&no_tty=1&"
                        f"sshauth=privkey,agent' destroy {APPLIANCE}"]
    assert await power(demo, APPLIANCE) is PowerState.RUNNING  # nothing before the yes
    await pilot.press("y")
    await finish_latest_run(pilot, demo)
    done = demo.session.store.get_run(run.id)
    assert done.state is RunState.DONE
    assert len(demo.session.store.list_runs()) == 1  # the same run did it
    assert await power(demo, APPLIANCE) is PowerState.SHUTOFF
    outcome = "powered off by this run, at the operator's request"
    assert demo.session.store.notes(run.id)[OUTCOME] == outcome
    log = log_of(demo, run.id)
    assert "power off requested by the operator after 30 s; license-srv is running on hv1" in log
    assert f"$ {commands[0]}" in log
    assert f"{APPLIANCE} is shut off: {outcome}" in log
    await wait_until(pilot, lambda: outcome in head(demo), what="the outcome shown")
    assert not {"Power off now", "Stop waiting"} & footer_actions(demo.app)
    events = [e.message for e in demo.session.clusters[0].poller.events()
              if e.subject == APPLIANCE]
    assert f"Shut down {APPLIANCE}: done: {outcome}" in events


async def test_stop_waiting_leaves_the_vm_running_and_the_run_cancelled(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    await advance(pilot, demo, 12.0)
    await pilot.press("c")
    await wait_until(pilot, lambda: demo.session.store.get_run(run.id).finished,
                     what="the run to end")
    ended = demo.session.store.get_run(run.id)
    assert ended.state is RunState.CANCELLED
    assert ended.error == (f"the operator stopped waiting after 12 s: {APPLIANCE} keeps "
                           "running (running on hv1); its guest was sent the shutdown request "
                           "and may still act on it")
    assert await power(demo, APPLIANCE) is PowerState.RUNNING
    await advance(pilot, demo, 200.0)  # nothing waits any more: nothing acts later
    assert await power(demo, APPLIANCE) is PowerState.RUNNING
    assert demo.session.store.get_run(run.id).state is RunState.CANCELLED
    await wait_until(pilot, lambda: "cancelled" in head(demo))
    assert not {"Power off now", "Stop waiting", "Retry / resume"} & footer_actions(demo.app)
    await pilot.press("escape", "escape", "4")
    await wait_until(pilot, lambda: bool(demo.app.screen.query(ResourceTable)
                                         and demo.app.screen.query_one(ResourceTable).rows))
    row = demo.app.screen.query_one(ResourceTable).rows[0]
    assert row.cells[2] == f"Shut down {APPLIANCE}"
    assert str(row.cells[4]) == "cancelled"


async def test_a_vm_powered_off_by_something_else_is_said_so(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    vm = await sim(demo).vm_info(APPLIANCE)
    await sim(demo).vm_power(vm, PowerAction.POWEROFF)  # as `virsh destroy` by hand
    await finish_latest_run(pilot, demo)
    assert demo.session.store.get_run(run.id).state is RunState.DONE
    outcome = "powered off by something else (libvirt: destroyed), not shut down by the guest"
    assert demo.session.store.notes(run.id)[OUTCOME] == outcome
    await wait_until(pilot, lambda: outcome in head(demo), what="the outcome shown")


async def test_a_guest_that_crashes_meanwhile_is_said_so(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    sim(demo).crash_vm(APPLIANCE)
    await finish_latest_run(pilot, demo)
    assert demo.session.store.notes(run.id)[OUTCOME] == (
        "the guest crashed (libvirt: crashed), it did not shut down")


async def test_a_guest_that_obeys_shuts_down_by_itself(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo, "web-01")
    await finish_latest_run(pilot, demo)
    assert demo.session.store.get_run(run.id).state is RunState.DONE
    assert demo.session.store.notes(run.id)[OUTCOME] == "shut down by the guest"
    assert "web-01 is shut off: shut down by the guest" in log_of(demo, run.id)


async def test_a_wait_that_times_out_says_so_and_offers_the_power_off(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    await finish_latest_run(pilot, demo)
    failed = demo.session.store.get_run(run.id)
    assert failed.state is RunState.FAILED
    assert failed.error == (f"{APPLIANCE} is still running after 120 s: its guest did not shut "
                            "down (it may ignore ACPI). Power it off (f), or ask again (r)")
    await wait_until(pilot, lambda: demo.app.cluster.vm(APPLIANCE).power is PowerState.RUNNING)
    await pilot.pause()
    assert {"Power off now", "Retry / resume"} <= footer_actions(demo.app)
    assert "Stop waiting" not in footer_actions(demo.app)
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    assert screen_of(demo.app, ConfirmModal).title_text == f"Power off {APPLIANCE} on hv1?"
    await pilot.press("y")
    await wait_until(pilot, lambda: len(demo.session.store.list_runs()) == 2, what="a new run")
    await finish_latest_run(pilot, demo)
    off = demo.session.store.list_runs()[0]
    assert (off.title, off.state) == (f"Power off {APPLIANCE}", RunState.DONE)
    assert await power(demo, APPLIANCE) is PowerState.SHUTOFF


async def test_power_off_on_the_vm_screen_ends_its_waiting_shutdown(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    await pilot.press("escape")  # back to the VMs, the VM still selected
    await wait_until(pilot, lambda: not isinstance(demo.app.screen, RunDetailScreen))
    await pilot.press("f")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, ConfirmModal))
    assert screen_of(demo.app, ConfirmModal).title_text == f"Power off {APPLIANCE} on hv1 now?"
    await pilot.press("y")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    assert screen_of(demo.app, RunDetailScreen).run_id == run.id
    await finish_latest_run(pilot, demo)
    assert [r.id for r in demo.session.store.list_runs()] == [run.id]  # no second run
    assert demo.session.store.notes(run.id)[OUTCOME] == (
        "powered off by this run, at the operator's request")


async def test_shut_down_again_opens_the_waiting_run_instead_of_a_second(running: Running) -> None:
    demo, pilot = running
    run = await shut_down(pilot, demo)
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(demo.app.screen, RunDetailScreen))
    await pilot.press("d")
    await wait_until(pilot, lambda: isinstance(demo.app.screen, RunDetailScreen))
    assert screen_of(demo.app, RunDetailScreen).run_id == run.id
    assert [r.id for r in demo.session.store.list_runs()] == [run.id]
