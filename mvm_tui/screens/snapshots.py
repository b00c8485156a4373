"""Snapshots of a VM (issue 19), opened from the VMs screen and VM detail: its snapshots (name,
when taken, size, how consistent, on all its disks or some); `t` takes one (its name asked, a
dated one offered), `r` reverts the VM to one (shut off only; its name typed: what was written
since is lost), `D` deletes one. Each is a Run, its steps and commands confirmed first."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import VmSnapshot
from mvm_tui.models import Vm
from mvm_tui.runs import RunRecord
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.snapshots import Action, default_name
from mvm_tui.units import count, size_bytes
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.format import date_time
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row
from mvm_tui.widgets.typed_confirm import TypedConfirmModal

COLUMNS = (Column("name", "Snapshot", 0), Column("taken", "Taken", 19),
           Column("size", "Size", 10, "right"), Column("consistency", "Consistency", 17),
           Column("complete", "Disks", 5))
# CONSISTENCY's, short enough for its column
SHORT = {"frozen": "frozen by agent", "stopped": "VM shut off", "crash": "crash-consistent"}
KEYS = "t: take, g: take with other VMs at one instant, r: revert, D: delete"


def said_text(vm: str, snaps: list[VmSnapshot]) -> str:
    if not snaps:
        return f"{vm} has no snapshot: t takes one."
    partial = [f"{s.name} is only on {', '.join(s.disks)}" for s in snaps if not s.complete]
    return "; ".join([f"{count(len(snaps), 'snapshot')}", *partial, KEYS])


class SnapshotsScreen(ModalScreen[RunRecord | None]):
    """Dismissed with the run an action made (its log is shown next), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="snapshots.close"),
        Binding("t", "take", "Take", id="snapshots.take"),
        Binding("r", "revert", "Revert", id="snapshots.revert"),  # (not `v`: the
        # example config makes `v` the VMs screen)
        Binding("D", "delete", "Delete", id="snapshots.delete"),
        Binding("g", "group", "With others", id="snapshots.group"),
    ]

    def __init__(self, cluster: Cluster, vm: str) -> None:
        super().__init__()
        self.cluster, self.vm_name = cluster, vm
        self.snapshots: dict[str, VmSnapshot] = {}
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="snapshots-dialog"):
            yield Label(literal(f"Snapshots of {self.vm_name}"), classes="dialog-title")
            yield Static("reading its disks' snapshots...", id="snapshots-said",
                         classes="dim")
            yield ResourceTable(COLUMNS, id="snapshots-table")

    def on_mount(self) -> None:
        self.run_worker(self._load(), exit_on_error=False)

    async def _vm(self) -> Vm:
        """The VM as it is now (its power state decides what applies)."""
        return await self.cluster.backend.vm_info(self.vm_name)

    async def _load(self) -> None:
        said = self.query_one("#snapshots-said", Static)
        try:
            snaps = await self.cluster.snapshots.of(await self._vm())
        except BackendError as exc:
            said.update(literal(f"its snapshots cannot be read: {exc}"))
            return
        self.snapshots = {s.name: s for s in snaps}
        said.update(literal(said_text(self.vm_name, snaps)))
        self.query_one(ResourceTable).set_rows([Row(s.name, (
            s.name, date_time(s.taken), size_bytes(s.size_bytes),
            SHORT.get(s.consistency, s.consistency or "not known"),
            "all" if s.complete else "some"),
            (s.name, s.taken, s.size_bytes, s.consistency, s.complete)) for s in snaps])
        self.loaded = True

    def _selected(self) -> VmSnapshot | None:
        key = self.query_one(ResourceTable).cursor_key
        return self.snapshots.get(key) if key else None

    def action_close(self) -> None:
        self.dismiss(None)

    def action_take(self) -> None:
        self.run_worker(self._take(), group="snapshots", exclusive=True, exit_on_error=False)

    def action_group(self) -> None:
        self.run_worker(self._group(), group="snapshots", exclusive=True, exit_on_error=False)

    def action_revert(self) -> None:
        if (snap := self._selected()) is not None:
            self.run_worker(self._revert(snap), group="snapshots", exclusive=True,
                            exit_on_error=False)

    def action_delete(self) -> None:
        if (snap := self._selected()) is not None:
            self.run_worker(self._delete(snap), group="snapshots", exclusive=True,
                            exit_on_error=False)

    async def _params(self, action: Action, name: str) -> dict[str, object] | None:
        """The run's params; None when refused (said)."""
        try:
            return await self.cluster.snapshots.params(action, await self._vm(), name)
        except (BackendError, ValueError) as exc:
            what = {"take": "No snapshot taken", "revert": "Not reverted",
                    "delete": "Not deleted"}[action]
            self.notify(str(exc), title=what, severity="error", markup=False)
            return None

    async def _take(self) -> None:
        name = await self.app.push_screen_wait(AskModal(
            f"Snapshot {self.vm_name}", "Its name", default_name(self.cluster.clock.now()),
            "Every disk at one instant. A running VM's filesystems are frozen through its "
            "guest agent meanwhile (crash-consistent without one)."))
        if not name:
            return
        params = await self._params("take", name)
        if params is None:
            return
        running = bool(params["running"])
        if await self.app.push_screen_wait(ConfirmModal(
                f"Snapshot {self.vm_name} as {name}?",
                ("It keeps running; its filesystems are frozen for the moment the snapshots "
                 "take, thawed in every case." if running else
                 "Its disks as they are now.") + " Each snapshot keeps the blocks changed "
                "after it, in the pool, until it is deleted.",
                self.cluster.snapshots.preview("take", params), "Snapshot")):
            self.dismiss(self.cluster.snapshots.create_run("take", params))

    async def _group(self) -> None:
        others = await self.app.push_screen_wait(AskModal(
            f"Snapshot {self.vm_name} with other VMs", "The other VMs (names, space apart)", "",
            "All of them at one instant: each host freezes its VMs (pauses those without an "
            "agent), every disk is snapshotted, then each host thaws them."))
        if not others:
            return
        name = await self.app.push_screen_wait(AskModal(
            "The group's snapshot", "Its name", default_name(self.cluster.clock.now()),
            "The same name on every VM's disks."))
        if not name:
            return
        try:
            vms = [await self._vm()] + [self.cluster.vm(v) for v in others.split()]
            params = await self.cluster.snapshots.group_params(vms, name)
        except (BackendError, ValueError) as exc:
            self.notify(str(exc), title="No snapshot taken", severity="error", markup=False)
            return
        names = ", ".join(m["vm"] for m in params["members"])
        if await self.app.push_screen_wait(ConfirmModal(
                f"Snapshot {names} as {name}?",
                "Each keeps running; their filesystems are frozen (or they are paused) for "
                "the moment the snapshots take, thawed in every case, also by each host "
                "itself should mvm-tui not come back.",
                self.cluster.snapshots.group_preview(params), "Snapshot")):
            self.dismiss(self.cluster.snapshots.create_group_run(params))

    async def _revert(self, snap: VmSnapshot) -> None:
        if not snap.complete:
            self.notify(f"{snap.name} is only on {', '.join(snap.disks)}: {self.vm_name} "
                        "cannot go back to it", title="Not reverted", severity="error",
                        markup=False)
            return
        params = await self._params("revert", snap.name)
        if params is None:
            return
        if await self.app.push_screen_wait(TypedConfirmModal(
                f"Revert {self.vm_name} to {snap.name}?",
                f"Its disks go back to how they were at {date_time(snap.taken)}: everything "
                "written to them since is lost. Its other snapshots stay.",
                self.cluster.snapshots.preview("revert", params), self.vm_name, "Revert")):
            self.dismiss(self.cluster.snapshots.create_run("revert", params))

    async def _delete(self, snap: VmSnapshot) -> None:
        params = await self._params("delete", snap.name)
        if params is None:
            return
        if await self.app.push_screen_wait(ConfirmModal(
                f"Delete the snapshot {snap.name} of {self.vm_name}?",
                f"{self.vm_name} can no longer go back to how it was at "
                f"{date_time(snap.taken)}. The VM itself is not changed.",
                self.cluster.snapshots.preview("delete", params), "Delete")):
            self.dismiss(self.cluster.snapshots.create_run("delete", params))
