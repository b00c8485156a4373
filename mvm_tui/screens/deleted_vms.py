"""Deleted VMs (`T` on the VMs screen): those whose definition a delete kept, with their size
and disks; `r` restores the one under the cursor (its disks back from the trash, its
definition on the least full host with room) as a Run, its steps confirmed first; `ctrl+r`
starts it too."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import KeptVm
from mvm_tui.runs import RunRecord
from mvm_tui.services.cluster import Cluster
from mvm_tui.units import count
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row

COLUMNS = (Column("name", "VM", 24), Column("size", "Size", 20),
           Column("images", "Disks (in the trash)", 0))


class DeletedVmsScreen(ModalScreen[RunRecord | None]):
    """Dismissed with the restore run made, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="deleted.close"),
        Binding("r", "restore(False)", "Restore", id="deleted.restore"),
        Binding("ctrl+r", "restore(True)", "Restore and start", id="deleted.restore_start"),
    ]

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self.cluster = cluster
        self.kept: dict[str, KeptVm] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="deleted-dialog"):
            yield Label(literal(f"Deleted VMs of {self.cluster.name}"), classes="dialog-title")
            yield Static("reading...", id="deleted-said", classes="dim")
            yield ResourceTable(COLUMNS, id="deleted-table")

    def on_mount(self) -> None:
        self.run_worker(self._load(), exit_on_error=False)

    async def _load(self) -> None:
        said = self.query_one("#deleted-said", Static)
        w = self.cluster.backend.workloads()
        try:
            names = await w.deleted_vms() if w is not None else []
            kept = {n: k for n in names if w is not None and (k := await w.kept(n)) is not None}
        except BackendError as exc:
            said.update(literal(f"the deleted VMs cannot be read: {exc}"))
            return
        self.kept = kept
        said.update(literal(f"{count(len(kept), 'deleted VM')} kept; r: restore, ctrl+r: "
                            "restore and start" if kept else "No deleted VM is kept."))
        self.query_one(ResourceTable).set_rows([Row(name, (
            name, f"{count(k.vcpus, 'vCPU')}, {k.memory_mb} MiB", ", ".join(k.images)),
            (name, k.memory_mb, len(k.images))) for name, k in sorted(kept.items())])

    def action_close(self) -> None:
        self.dismiss(None)

    def action_restore(self, start: bool) -> None:
        name = self.query_one(ResourceTable).cursor_key
        if name in self.kept:
            self.run_worker(self._restore(name, start), group="restore", exclusive=True,
                            exit_on_error=False)

    async def _restore(self, name: str, start: bool) -> None:
        try:
            params = await self.cluster.restore_params(name, start=start)
        except BackendError as exc:
            self.notify(str(exc), title=f"{name} not restored", severity="error",
                        markup=False)
            return
        if await self.app.push_screen_wait(ConfirmModal(
                f"Restore {name} on {params['host']}?", "Its disks come back from the trash, "
                "its deletion mark goes (HA looks after it again), its definition is made as "
                "it was deleted" + (", then it is started." if start else "."),
                self.cluster.restore_preview(params), "Restore")):
            self.dismiss(self.cluster.create_restore_run(params))
