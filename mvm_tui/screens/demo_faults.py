"""The demo's faults in the command palette (only with --demo): power a simulated host off,
cut its network, restore it, crash a VM, so that failover can be watched."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from textual.app import SystemCommand

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import FaultInjector
from mvm_tui.models import ClusterSnapshot, HostState, PowerState

DOWN = (HostState.UNREACHABLE, HostState.UNKNOWN)


def fault_commands(faults: FaultInjector, snapshot: ClusterSnapshot,
                   notify: Callable[..., object]) -> Iterator[SystemCommand]:
    """A palette command per fault that applies now; each says what it did through
    `notify` (App.notify): the world may have moved on since the palette opened."""
    def inject(do: Callable[[str], None], name: str, what: str) -> Callable[[], None]:
        def run() -> None:
            try:
                do(name)
            except BackendError as exc:
                notify(f"{what}: not done ({exc})", title="Demo fault", severity="error",
                       markup=False)
                return
            notify(what, title="Demo fault", severity="warning", markup=False)
        return run

    for host in snapshot.hosts:
        name = host.name
        if host.state in DOWN:
            yield SystemCommand(f"Demo: restore {name}", "simulated: power it on and reconnect it",
                                inject(faults.restore_host, name, f"{name} restored"))
            continue
        yield SystemCommand(f"Demo: power off {name}",
                            "simulated fault: the host and its VMs die (HA fails them over)",
                            inject(faults.power_off_host, name, f"{name} powered off"))
        yield SystemCommand(f"Demo: cut the network of {name}",
                            "simulated fault: unreachable, its VMs keep running inside",
                            inject(faults.cut_network, name, f"{name} cut off the network"))
    for vm in snapshot.vms:
        if vm.power is PowerState.RUNNING:
            yield SystemCommand(f"Demo: crash {vm.name}", "simulated fault: the guest crashes",
                                inject(faults.crash_vm, vm.name, f"{vm.name} crashed"))
