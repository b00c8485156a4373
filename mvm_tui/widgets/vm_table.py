"""The VM table used by the VMs screen and by a host's VMs tab."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress
from operator import attrgetter, is_not
from typing import Any

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


def _cpu(vm: Vm) -> float | None:
    return vm.cpu_pct if vm.power is PowerState.RUNNING else None


# what each column sorts by, read only for the column sorted by
_SORT_VALUES: tuple[Callable[[Vm], Any], ...] = (
    attrgetter("name"), lambda vm: vm.host or "", attrgetter("power"),
    attrgetter("placement"), attrgetter("vcpus"), attrgetter("memory_mb"), _cpu,
)


class VmRow(Row):
    """A VM's row, updated in place when the VM changes: its cells are made only when it is
    on screen, its sort value only for the column sorted by."""

    __slots__ = ("_haystack", "vm")

    def __init__(self, vm: Vm) -> None:
        super().__init__(vm.name, (), ())
        self.update(vm)

    def update(self, vm: Vm) -> None:
        self.vm = vm
        self._cells = None
        self._haystack: str | None = None

    def sort_value(self, column: int) -> Any:
        return _SORT_VALUES[column](self.vm)

    def make_cells(self) -> Cells:
        vm = self.vm
        return (
            vm.name,
            vm.host or "-",
            fmt.power_state(vm.power),
            vm.placement.value,
            str(vm.vcpus),
            fmt.mib(vm.memory_mb),
            fmt.pct(_cpu(vm)),
        )

    def matches(self, words: Sequence[str]) -> bool:
        """Every word (lower case) appears in the VM's name, host, power state or placement."""
        if self._haystack is None:
            vm = self.vm
            self._haystack = (
                f"{vm.name} {vm.host or ''} {vm.power.value} {vm.placement.value}".lower())
        return all(word in self._haystack for word in words)


class VmTable(ResourceTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(VM_COLUMNS, id=id)
        self._vm_rows: dict[str, VmRow] = {}  # every VM given, shown or filtered out
        self._words: tuple[str, ...] = ()  # the filter of the rows shown
        self._given: Sequence[Vm] = ()  # the VMs given last, in their order

    def show(self, vms: Sequence[Vm], words: Sequence[str] = ()) -> int:
        """Show those of `vms` that match every word of `words` (see VmRow.matches); say how
        many. A VM's row is updated only when its Vm is another object than the one shown
        (the inventory keeps a VM's object until a poll finds it changed); when the VMs are
        the ones shown before, in the same order and unfiltered, only those that changed
        are looked at."""
        given, self._given = self._given, vms
        filtered, self._words = bool(self._words), tuple(words)
        if not words and not filtered and len(vms) == len(given):
            changed = list(compress(range(len(vms)), map(is_not, vms, given)))
            if all(vms[i].name == given[i].name for i in changed):
                updated = [self._vm_rows[vms[i].name] for i in changed]
                for changed_row, i in zip(updated, changed, strict=True):
                    changed_row.update(vms[i])
                self.rows_changed(updated)
                return len(vms)
        known = self._vm_rows
        rows: list[VmRow] = []
        for vm in vms:
            row = known.get(vm.name)
            if row is None:
                row = VmRow(vm)
            elif row.vm is not vm:
                row.update(vm)
            rows.append(row)
        self._vm_rows = {row.key: row for row in rows}
        shown = [row for row in rows if row.matches(words)] if words else rows
        self.set_rows(shown)
        return len(shown)

    def vm(self, key: str | None) -> Vm | None:
        """The VM of a row, as last shown (`key` None: none)."""
        row = self._vm_rows.get(key) if key is not None else None
        return row.vm if row is not None else None
