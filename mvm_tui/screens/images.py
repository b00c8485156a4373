"""Images: the cluster's image library (`i` on the VMs screen): name, OS, size, the VM disks
cloned from each; `a` imports one (a file on a host, HOST:PATH, or of this jump box), `R`
renames one, `D` removes one no VM disk is cloned from. Each is a Run, its steps and commands
confirmed first."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import Image
from mvm_tui.runs import RunRecord
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.images import (
    import_params,
    local_file,
    rename_params,
    upload_path,
)
from mvm_tui.units import count
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import literal
from mvm_tui.widgets.resource_table import Column, ResourceTable, Row
from mvm_tui.widgets.typed_confirm import TypedConfirmModal

COLUMNS = (Column("name", "Image", 24), Column("os", "OS", 18),
           Column("size", "Size", 10, "right"), Column("disks", "VM disks", 0))


class ImagesScreen(ModalScreen[RunRecord | None]):
    """Dismissed with the run an action made (its log is shown next), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="images.close"),
        Binding("a", "import_image", "Import", id="images.import"),
        Binding("R", "rename_image", "Rename", id="images.rename"),
        Binding("D", "remove_image", "Remove", id="images.remove"),
    ]

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self.cluster = cluster
        self.images: dict[str, Image] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="images-dialog"):
            yield Label(literal(f"Images of {self.cluster.name}"), classes="dialog-title")
            yield Static("reading the library...", id="images-said", classes="dim")
            yield ResourceTable(COLUMNS, id="images-table")

    def on_mount(self) -> None:
        self.run_worker(self._load(), exit_on_error=False)

    async def _load(self) -> None:
        said = self.query_one("#images-said", Static)
        w = self.cluster.backend.workloads()
        try:
            images = await w.images() if w is not None else []
        except BackendError as exc:
            said.update(literal(f"the library cannot be read: {exc}"))
            return
        self.images = {i.name: i for i in images}
        said.update(literal(f"{count(len(images), 'image')}; a: import, R: rename, D: remove"
                            if images else "The library is empty: a imports an image."))
        self.query_one(ResourceTable).set_rows([Row(i.name, (
            i.name + ("" if i.ready else " (import unfinished)"), i.os or "-",
            f"{i.size_bytes / 2**30:.1f} GiB", ", ".join(i.disks) or "none"),
            (i.name, i.os, i.size_bytes, len(i.disks))) for i in images])

    def _selected(self) -> Image | None:
        key = self.query_one(ResourceTable).cursor_key
        return self.images.get(key) if key else None

    def action_close(self) -> None:
        self.dismiss(None)

    def action_import_image(self) -> None:
        self.run_worker(self._import(), group="images", exclusive=True, exit_on_error=False)

    def action_rename_image(self) -> None:
        self.run_worker(self._rename(), group="images", exclusive=True, exit_on_error=False)

    def action_remove_image(self) -> None:
        self.run_worker(self._remove(), group="images", exclusive=True, exit_on_error=False)

    def _refused(self, what: str, why: object) -> None:
        self.notify(str(why), title=what, severity="error", markup=False)

    async def _import(self) -> None:
        source = await self.app.push_screen_wait(AskModal(
            "Import an image", "HOST:PATH, or a file of this jump box", "",
            "A qcow2 or raw cloud image; a file of this jump box is copied to the first host."))
        if not source:
            return
        name = await self.app.push_screen_wait(AskModal("Import an image", "Its name", ""))
        if not name:
            return
        hosts = [h.name for h in self.cluster.backend.hosts]
        host, sep, path = source.partition(":")
        try:
            local = await asyncio.to_thread(local_file, source)
            if sep and host in hosts:
                params = import_params(host, path, name, "")
            elif local is not None:
                params = import_params(hosts[0], upload_path(name), name, "", *local)
            else:
                raise ValueError(f"{source!r} is neither HOST:PATH with a host of "
                                 f"{self.cluster.name} nor a file of this machine")
            steps = self.cluster.import_preview(params)
        except (ValueError, BackendError) as exc:
            self._refused("Not imported", exc)
            return
        if await self.app.push_screen_wait(ConfirmModal(
                f"Import {name}?", "Written as an RBD image of the pool, with the snapshot VM "
                "disks are cloned from.", steps, "Import")):
            self.dismiss(self.cluster.create_import_run(params))

    async def _rename(self) -> None:
        image = self._selected()
        if image is None:
            return
        new = await self.app.push_screen_wait(AskModal(f"Rename {image.name}", "New name",
                                                       image.name))
        if not new:
            return
        try:
            params = rename_params(image.name, new)
        except ValueError as exc:
            self._refused("Not renamed", exc)
            return
        if await self.app.push_screen_wait(ConfirmModal(
                f"Rename {image.name} to {new}?", "Its clones follow (they name it by id).",
                self.cluster.image_preview("rename", params), "Rename")):
            self.dismiss(self.cluster.create_image_run("rename", params))

    async def _remove(self) -> None:
        image, w = self._selected(), self.cluster.backend.workloads()
        if image is None or w is None:
            return
        try:
            users = await w.image_users(image.name)
        except BackendError as exc:
            self._refused("Not removed", exc)
            return
        if users:
            self._refused("Not removed", f"VM disks are cloned from {image.name}: "
                                         f"{', '.join(users)}")
            return
        params = {"image": image.name}
        if await self.app.push_screen_wait(TypedConfirmModal(
                f"Remove {image.name}?", "It is deleted from the pool (no trash for library "
                "images).", self.cluster.image_preview("remove", params), image.name,
                "Remove")):
            self.dismiss(self.cluster.create_image_run("remove", params))
