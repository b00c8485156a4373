"""The confirmations of VM power actions (with their exact commands), shared by the VM screens
and a run's screen, and the power-off that ends a shutdown the guest ignores."""

from __future__ import annotations

from mvm_tui.models import PowerAction, Vm
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.power_runs import POWER_TITLES, ShutdownWait
from mvm_tui.widgets.confirm import ConfirmModal

CONSEQUENCES = {
    PowerAction.SHUTDOWN: "Asks the guest OS to shut down (ACPI). The guest may take a while, "
    "or ignore it; the run waits until the VM is shut off, and meanwhile can power it off (f) "
    "or stop waiting (c).",
    PowerAction.POWEROFF: "Cuts the VM's power at once, like pulling the plug: whatever the "
    "guest has not written to disk is lost.",
    PowerAction.REBOOT: "Asks the guest OS to reboot. Its services are down until it is back.",
}


def power_modal(cluster: Cluster, vm: Vm, action: PowerAction) -> ConfirmModal:
    """Confirm a power action that runs as a run of its own."""
    return ConfirmModal(
        title=f"{POWER_TITLES[action]} {vm.name} on {vm.host}?",
        consequence=CONSEQUENCES[action],
        steps=cluster.power_preview(vm, action),
        verb=POWER_TITLES[action],
    )


def escalate_modal(cluster: Cluster, vm: Vm, wait: ShutdownWait) -> ConfirmModal:
    """Confirm powering off a VM whose shutdown run waits for its guest: that run does it."""
    waited = max(0.0, cluster.clock.now() - wait.since)
    return ConfirmModal(
        title=f"Power off {vm.name} on {vm.host} now?",
        consequence=f"Its guest has not shut down in {waited:.0f} s. "
        + CONSEQUENCES[PowerAction.POWEROFF]
        + f" The shutdown run #{wait.run_id} reads the VM's state again, powers it off "
        "unless it is off already, and says how it went off.",
        steps=cluster.power_preview(vm, PowerAction.POWEROFF),
        verb=POWER_TITLES[PowerAction.POWEROFF],
    )
