"""VMs: every VM of the cluster; `/` filters as you type, columns sort, Enter opens it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Header, Input, Static

from mvm_tui.models import Vm
from mvm_tui.screens.deleted_vms import DeletedVmsScreen
from mvm_tui.screens.images import ImagesScreen
from mvm_tui.screens.vm_actions import VmActionsScreen
from mvm_tui.screens.vm_detail import open_vm_detail
from mvm_tui.services.cluster import POWER_TITLES, power_actions
from mvm_tui.widgets.footer import SteadyFooter
from mvm_tui.widgets.resource_table import ResourceTable
from mvm_tui.widgets.vm_table import VmTable


class VmsScreen(VmActionsScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="vms.filter"),
        Binding("n", "new_vm", "New VM", id="vms.new"),
        Binding("i", "images", "Images", id="vms.images"),
        Binding("T", "deleted", "Deleted VMs", id="vms.deleted", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: name, host, state or placement", id="vm-filter")
        yield Static("", id="vm-none", classes="dim")
        yield VmTable(id="vm-table")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one("#vm-filter").display = False
        self.query_one("#vm-none").display = False
        self.query_one(VmTable).focus()
        self.refresh_inventory()

    @property
    def filter_words(self) -> list[str]:
        return self.query_one("#vm-filter", Input).value.lower().split()

    def refresh_inventory(self) -> None:
        words = self.filter_words
        shown = self.query_one(VmTable).show(self.cluster.snapshot().vms, words)
        none = self.query_one("#vm-none", Static)
        none.display = not shown
        if not shown:  # the words as typed, shown literally (a Content, no markup)
            none.update(Content(f"No VM matches \"{' '.join(words)}\" (esc clears the filter)."
                                if words else "The cluster has no VM."))
        super().refresh_inventory()

    def selected_vm(self) -> Vm | None:
        """The VM under the cursor, as shown (the table is refreshed with each snapshot)."""
        table = self.query_one(VmTable)
        return table.vm(table.cursor_key)

    def action_images(self) -> None:
        self._library(ImagesScreen(self.cluster))

    def action_deleted(self) -> None:
        self._library(DeletedVmsScreen(self.cluster))

    def _library(self, dialog: ImagesScreen | DeletedVmsScreen) -> None:
        """A dialog of the cluster's workload library, whose actions make a run."""
        if self.cluster.backend.workloads() is None:
            self.notify(f"cluster {self.cluster.name} has no image library (HCI clusters "
                        "only)", title="Workloads", severity="error", markup=False)
            return
        if not self.refuse_runs():
            self.app.push_screen(dialog, lambda run: self._execute(
                run.id, run.title) if run is not None else None)

    def action_filter(self) -> None:
        box = self.query_one("#vm-filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_inventory()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(VmTable).focus()

    def on_key(self, event: events.Key) -> None:
        box = self.query_one("#vm-filter", Input)
        if event.key == "escape" and box.display:  # typing in it or not (Enter left it)
            event.stop()
            box.value = ""
            box.display = False
            self.query_one(VmTable).focus()

    def on_resource_table_cursor_moved(self, event: ResourceTable.CursorMoved) -> None:
        self.refresh_offer()

    def on_resource_table_row_selected(self, event: ResourceTable.RowSelected) -> None:
        open_vm_detail(self.app, event.key)

    def palette_commands(self) -> Iterable[SystemCommand]:
        vm = self.selected_vm()
        yield SystemCommand("Filter VMs", "Type to filter the VM table", self.action_filter)
        yield from self.key_commands(skip=("power", "filter"))  # placement
        if vm is None:
            return
        for action in power_actions(vm):
            yield SystemCommand(
                f"{POWER_TITLES[action]} {vm.name}",
                f"Power action on the selected VM ({vm.power})",
                lambda a=action: self.action_power(a.value),
            )
