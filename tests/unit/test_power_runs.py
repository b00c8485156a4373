"""Power runs on the simulator, below the UI: the operator's power-off of a waiting shutdown
re-reads the VM's state right before it acts, and how a VM went off is told from libvirt's
reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.config import demo_config
from mvm_tui.models import PowerAction, PowerState, StopReason, Vm
from mvm_tui.runs import RunState
from mvm_tui.services.power_runs import OUTCOME, ShutdownChoice, describe_stop
from mvm_tui.session import open_session

APPLIANCE = "license-srv"  # the demo's guest that ignores ACPI


async def test_the_power_off_reads_the_state_again_right_before_it_acts(tmp_path: Path) -> None:
    clock = VirtualClock()
    session = open_session(demo_config(), demo=True, clock=clock, db_path=tmp_path / "runs.db")
    cluster = session.clusters[0]
    sim = cluster.backend
    assert isinstance(sim, SimBackend)
    vm = await sim.vm_info(APPLIANCE)
    run = cluster.create_power_run(vm, PowerAction.SHUTDOWN)
    task = asyncio.create_task(cluster.execute(run.id))
    for _ in range(100):
        if cluster.power.waits.get(run.id) is not None:
            break
        await settle()
    await clock.advance(5.0)
    assert (await sim.vm_info(APPLIANCE)).power is PowerState.RUNNING
    real_vm_info = sim.vm_info

    async def vm_info(vm: str) -> Vm:
        """The run's read that precedes its power-off sees the VM running; someone powers
        it off by hand right after that read."""
        seen = await real_vm_info(vm)
        wait = cluster.power.waits.get(run.id)
        if wait is not None and wait.pending is ShutdownChoice.POWER_OFF and \
                seen.power is PowerState.RUNNING:
            await sim.vm_power(seen, PowerAction.POWEROFF)
        return seen

    sim.vm_info = vm_info  # type: ignore[method-assign]
    assert cluster.power.waits.choose(run.id, ShutdownChoice.POWER_OFF)
    assert not cluster.power.waits.choose(run.id, ShutdownChoice.CANCEL)  # told already
    for _ in range(10):
        if task.done():
            break
        await clock.advance(1.0)
    record = await task
    assert record.state is RunState.DONE
    log = [line.text for line in session.store.log(run.id)]
    assert f"not powered off: {APPLIANCE} is shut off already" in log
    assert not any(line.startswith("$ ") for line in log)  # no destroy of its own
    assert session.store.notes(run.id)[OUTCOME] == describe_stop(StopReason.DESTROYED, False)
    await session.close()


@pytest.mark.parametrize(("reason", "escalated", "text"), [
    (StopReason.SHUTDOWN, False, "shut down by the guest"),
    (StopReason.SHUTDOWN, True, "shut down by the guest"),  # it beat the power-off
    (StopReason.DESTROYED, True, "powered off by this run, at the operator's request"),
    (StopReason.DESTROYED, False,
     "powered off by something else (libvirt: destroyed), not shut down by the guest"),
    (StopReason.CRASHED, False, "the guest crashed (libvirt: crashed), it did not shut down"),
    (None, False, "shut off; libvirt gives no reason"),
    (StopReason.DAEMON, False,
     "stopped by libvirtd, which found its qemu process gone (libvirt: daemon)"),
])
def test_how_a_vm_went_off(reason: StopReason | None, escalated: bool, text: str) -> None:
    assert describe_stop(reason, escalated) == text


def test_every_reason_is_told() -> None:
    assert all(describe_stop(r, False) for r in StopReason)
