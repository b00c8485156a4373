"""A shutdown the guest ignores, on real libvirt: the lab's BIOS-only tiny guest (nodisk) has
no ACPI handling, so `virsh shutdown` changes nothing and libvirt keeps reporting it running.
Its run powers it off at the operator's word; a `virsh destroy` by hand during the wait is told
from libvirt's shutoff reason (VIR_DOMAIN_SHUTOFF_DESTROYED), not taken for the guest's
shutdown."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest

from mvm_tui import lab
from mvm_tui.app import MvmApp
from mvm_tui.clock import within
from mvm_tui.lab.netns import hx
from mvm_tui.models import PowerAction, PowerState
from mvm_tui.runs import RunRecord, RunState
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.power_runs import OUTCOME, ShutdownChoice
from mvm_tui.session import Session
from mvm_tui.widgets.confirm import ConfirmModal
from tests.ui.conftest import SIZE, wait_until

pytestmark = pytest.mark.lab

GUEST, HOST = "tiny-noacpi", "h2"
VIRSH = ("virsh", "-q", "-c", "qemu:///system")
WATCHED = 5.0  # seconds the guest is watched ignoring the request


def virsh(info: lab.LabInfo, *args: str) -> str:
    out = subprocess.run(hx(info.host(HOST).index, *VIRSH, *args), capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip()


@pytest.fixture
def guest(lab_info: lab.LabInfo) -> str:
    """The guest, running on h2 (made the first time)."""
    names = virsh(lab_info, "list", "--all", "--name").split()
    if GUEST not in names:
        lab.define_guest(HOST, GUEST, "nodisk")
    elif virsh(lab_info, "domstate", GUEST) != "running":
        virsh(lab_info, "start", GUEST)
    return GUEST


async def waiting_shutdown(cluster: Cluster, info: lab.LabInfo) -> tuple[RunRecord,
                                                                          asyncio.Task[RunRecord]]:
    """A shutdown run of the guest, once it waits for the guest; the guest is seen to ignore
    the request for WATCHED seconds first."""
    vm = await cluster.backend.vm_info(GUEST)
    assert vm.power is PowerState.RUNNING
    run = cluster.create_power_run(vm, PowerAction.SHUTDOWN)
    task = asyncio.create_task(cluster.execute(run.id))
    deadline = time.monotonic() + 30
    while cluster.power.waits.get(run.id) is None:
        assert not task.done(), task.result()
        assert time.monotonic() < deadline, "the run never waited for the guest"
        await asyncio.sleep(0.1)
    watched = time.monotonic() + WATCHED
    while time.monotonic() < watched:  # libvirt keeps it running: the guest ignored ACPI
        assert await asyncio.to_thread(virsh, info, "domstate", GUEST) == "running"
        await asyncio.sleep(0.5)
    assert not task.done()
    return run, task


async def test_a_shutdown_the_guest_ignores_is_powered_off_from_its_run(
    lab_session: Session, lab_info: lab.LabInfo, guest: str
) -> None:
    cluster = lab_session.clusters[0]
    run, task = await waiting_shutdown(cluster, lab_info)
    assert cluster.power.waits.choose(run.id, ShutdownChoice.POWER_OFF)
    done = await within(task, 60)
    assert done.state is RunState.DONE, done.error
    notes = lab_session.store.notes(run.id)
    assert notes[OUTCOME] == "powered off by this run, at the operator's request"
    assert virsh(lab_info, "domstate", "--reason", guest) == "shut off (destroyed)"
    log = [line.text for line in lab_session.store.log(run.id)]
    assert any(line.startswith("$ virsh -c 'qemu+libssh2://root@10.213.0.12/system")
               and line.endswith(f"destroy {guest}") for line in log), log
    assert f"{guest} is shut off: {notes[OUTCOME]}" in log


async def test_a_virsh_destroy_by_hand_during_the_wait_is_told_apart(
    lab_session: Session, lab_info: lab.LabInfo, guest: str
) -> None:
    cluster = lab_session.clusters[0]
    run, task = await waiting_shutdown(cluster, lab_info)
    await asyncio.to_thread(virsh, lab_info, "destroy", guest)  # by hand, on the host
    done = await within(task, 30)
    assert done.state is RunState.DONE, done.error
    assert lab_session.store.notes(run.id)[OUTCOME] == (
        "powered off by something else (libvirt: destroyed), not shut down by the guest")
    assert not any(line.text.startswith("$ ") for line in lab_session.store.log(run.id))
    assert virsh(lab_info, "domstate", "--reason", guest) == "shut off (destroyed)"


async def test_the_tui_powers_off_a_guest_that_ignores_its_shutdown(
    lab_session: Session, lab_info: lab.LabInfo, guest: str
) -> None:
    """The same from the keys: `d` `y` on the VM, then `f` `y` in its run's screen."""
    app = MvmApp(lab_session.clusters[0], prompts=lab_session.prompts)
    store = lab_session.store
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.up_to_date and any(
            v.name == guest and v.power is PowerState.RUNNING
            for v in app.cluster.snapshot().vms), timeout=60, what=f"{guest} shown running")
        await pilot.press("3", "slash", *guest, "enter", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        waits = app.cluster.power.waits
        await wait_until(pilot, lambda: waits.of_vm(guest) is not None, timeout=30,
                         what="the run waiting for the guest")
        run_id = store.list_runs()[0].id
        watched = time.monotonic() + WATCHED
        while time.monotonic() < watched:  # libvirt keeps it running: the guest ignored ACPI
            assert virsh(lab_info, "domstate", guest) == "running"
            await pilot.pause(0.5)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        commands = [c for s in modal.steps for c in s.preview]
        assert len(commands) == 1
        assert commands[0].endswith(f" destroy {guest}")
        assert virsh(lab_info, "domstate", guest) == "running"  # nothing before the yes
        await pilot.press("y")
        await wait_until(pilot, lambda: store.get_run(run_id).finished, timeout=60,
                         what="the run to end")
        assert store.get_run(run_id).state is RunState.DONE
        outcome = "powered off by this run, at the operator's request"
        assert store.notes(run_id)[OUTCOME] == outcome
        await wait_until(pilot, lambda: outcome in str(app.screen.query_one("#run-head")
                                                       .render()), what="the outcome shown")
    assert virsh(lab_info, "domstate", "--reason", guest) == "shut off (destroyed)"
