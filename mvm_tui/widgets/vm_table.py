"""The VM table used by the VMs screen and by a host's VMs tab."""

from __future__ import annotations

from collections.abc import Iterable

from mvm_tui.models import PowerState, Vm
from mvm_tui.widgets import format as fmt
from mvm_tui.widgets.resource_table import Cells, Column, ResourceTable, Row

NAME_WIDTH = 32  # a longer name is cut with "…" here; VM detail shows it whole

VM_COLUMNS = (
    Column("name", "Name", max_width=NAME_WIDTH),
    Column("host", "Host", 12),
    Column("power", "Power", 13),
    Column("placement", "Placement", 9),
    Column("vcpus", "vCPU", 4, "right"),
    Column("memory", "Memory", 9, "right"),
    Column("cpu", "CPU", 7, "right"),
)


def vm_row(vm: Vm) -> Row:
    running = vm.power is PowerState.RUNNING
    cpu = vm.cpu_pct if running else None

    def cells() -> Cells:
        return (
            vm.name,
            vm.host or "-",
            fmt.power_state(vm.power),
            vm.placement.value,
            str(vm.vcpus),
            fmt.mib(vm.memory_mb),
            fmt.pct(cpu),
        )

    return Row(
        vm.name,
        cells,
        (vm.name, vm.host or "", vm.power, vm.placement, vm.vcpus, vm.memory_mb, cpu),
    )


class VmTable(ResourceTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(VM_COLUMNS, id=id)

    def show(self, vms: Iterable[Vm]) -> None:
        self.set_rows([vm_row(vm) for vm in vms])
