"""VM lifecycle (issue 17), each a Run with previewed commands: images.py (the image library:
import from a host or the jump box, rename, remove), create.py (a VM from an image, with
cloud-init), change.py (size live or for the next boot, disks, NICs), clone.py, rename.py,
delete.py (marked for HA, definition kept, undefined, disks to the trash) and restore.py. Each
step re-checks its guard right before acting. What a host does goes through the backend's
Workloads capability (backends/capabilities.py; backends/real_workloads.py and
backends/sim/workloads.py); pure decisions in core/ (new_vm, vm_spec, vm_change, cloud_init,
plans).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mvm_tui.backends.base import ClusterBackend, NotFound
from mvm_tui.backends.capabilities import Workloads
from mvm_tui.core.validation import validate_hostname_label
from mvm_tui.models import ClusterSnapshot, PowerAction, PowerState, Vm
from mvm_tui.runs import Step, StepContext


def workloads_of(backend: ClusterBackend, what: str) -> Workloads:
    """The backend's Workloads; NotFound saying it cannot `what` (only HCI clusters can)."""
    w = backend.workloads()
    if w is None:
        raise NotFound(f"cluster {backend.name} cannot {what} here (HCI clusters only for "
                       "now)")
    return w


def check_free_name(name: str, snap: ClusterSnapshot, field: str = "name") -> None:
    """ValueError naming `field` unless `name` is a VM name the cluster does not have."""
    try:
        validate_hostname_label(name)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    if any(v.name == name for v in snap.vms):
        raise ValueError(f"{field}: a VM named {name} exists in the cluster")


def start_step(backend: ClusterBackend, vm: Vm, guard: Callable[[StepContext], Awaitable[None]],
               seen: Callable[[Vm], None] | None = None) -> Step:
    """The last step of a run that makes a VM: start `vm` (as it will be: its name, uuid,
    host and size), `guard` checked right before (its room on the host)."""

    async def start(ctx: StepContext) -> None:
        now = await backend.vm_info(vm.name)
        if now.power is PowerState.RUNNING:
            return
        await guard(ctx)
        await backend.vm_power(now, PowerAction.START)
        if seen is not None:
            seen(await backend.vm_info(vm.name))
        ctx.log(f"{vm.name} started on {vm.host}")

    async def running(ctx: StepContext) -> bool:
        return (await backend.vm_info(vm.name)).power is PowerState.RUNNING

    return Step(f"Start {vm.name}", tuple(backend.power_commands(vm, PowerAction.START)),
                start, running)
