"""Add Cluster: the wizard's form. Every field is checked as it is typed, with the reason next
to it; "Next: preflight" is enabled only when the whole form is valid and dismisses with it.

The form itself (fields, checks, the config it makes) is core.cluster_form.ClusterForm; this
screen only edits one and shows its errors(). A reason shows once its field has been typed in
(or was filled in when the screen opened); the count of hosts for the layout shows at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from mvm_tui.core.cluster_form import (
    CPU_MODELS,
    CPU_TYPES,
    Auth,
    ClusterForm,
    HostRow,
    StorageKind,
    describe_key,
    host_key,
)
from mvm_tui.models import Layout
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import literal

# the form's fields outside the hosts table: key, label, placeholder
FIELDS: dict[str, tuple[str, str]] = {
    "name": ("Cluster name", "prod"),
    "storage_target": ("NFS export", "nas1:/export/vms"),
    "iscsi_iqn": ("iSCSI target", "iqn.2003-01.org.example:vms"),
    "data_devices": ("Data devices", "/dev/sdb,/dev/sdc"),
    "management_if": ("Management iface", "eth0"),
    "storage_if": ("Storage iface", "eth1"),
    "compute_if": ("Compute iface", "eth2"),
    "compute_vlans": ("Compute VLANs", "22-25"),
    "cpu_type": ("CPU type", "x86_64"),
    "cpu_model": ("CPU model", "host-model"),
}
# the hosts table: field, column title, placeholder
HOST_COLUMNS = (("name", "Name", "hv1"), ("address", "Address", "10.0.0.11"),
                ("port", "Port", "22"), ("user", "User", "root"))
AUTH_CHOICES = [("key file", Auth.KEY), ("password", Auth.PASSWORD)]
HOST_FIELD_NAMES = {"name": "name", "address": "address", "port": "port", "user": "user",
                    "key_file": "key file", "password": "password"}
STORAGE_LABELS = {StorageKind.NFS: ("NFS export", "nas1:/export/vms"),
                  StorageKind.ISCSI: ("iSCSI portal", "10.0.0.5:3260")}


class AddClusterScreen(ModalScreen[ClusterForm | None]):
    """Dismissed with a copy of the valid form, or None when cancelled.

    `form` pre-fills the fields (default: an empty form with three host rows). The CPU model
    completes from host-model, host-passthrough, then `cpu_models` (the app gives the names
    of libvirt's CPU map); the preflight checks that the hosts can run it.
    """

    AUTO_FOCUS = "#f-name"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # (app.tcss: its columns)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("plus", "add_host", "Add host", id="add_cluster.add_host"),
        Binding("minus", "remove_host", "Remove host", id="add_cluster.remove_host"),
        Binding("escape", "cancel", "Cancel", id="add_cluster.cancel"),
    ]

    def __init__(self, form: ClusterForm | None = None, *,
                 cpu_models: Sequence[str] = ()) -> None:
        super().__init__()
        self.form = copy.deepcopy(form) if form is not None else ClusterForm()
        self.cpu_models = tuple(dict.fromkeys((*CPU_MODELS, *cpu_models)))
        self._rows: list[int] = []  # widget number of each host row, in the form's order
        self._next_row = 0
        self._touched: set[str] = set()  # ids of the inputs typed in (or pre-filled)

    # ------------------------------------------------------------------ compose

    def compose(self) -> ComposeResult:
        form = self.form
        with Vertical(classes="dialog", id="add-cluster-dialog"):
            yield Label("Add cluster", classes="dialog-title")
            with VerticalScroll(id="add-cluster-form", classes="dialog-body"):
                yield from self._field("name")
                with Horizontal(classes="form-row"):
                    yield Label("Layout", classes="form-label")
                    with RadioSet(id="add-cluster-layout"):
                        yield RadioButton("HCI with Ceph (3 hosts or more)", id="layout-hci",
                                          value=form.layout is Layout.HCI)
                        yield RadioButton("External storage (NFS, iSCSI)",
                                          id="layout-external",
                                          value=form.layout is Layout.EXTERNAL)
                with Vertical(id="add-cluster-storage"):
                    with Horizontal(classes="form-row"):
                        yield Label("Storage", classes="form-label")
                        with RadioSet(id="add-cluster-storage-kind"):
                            yield RadioButton("NFS", id="storage-nfs",
                                              value=form.storage_kind is StorageKind.NFS)
                            yield RadioButton("iSCSI", id="storage-iscsi",
                                              value=form.storage_kind is StorageKind.ISCSI)
                    yield from self._field("storage_target")
                    yield from self._field("iscsi_iqn")
                yield Label("Hosts", classes="form-section")
                with Horizontal(classes="host-head"):
                    for name, title, _ in HOST_COLUMNS:
                        yield Label(title, classes=f"h-{name}")
                    yield Label("Log in with", classes="h-auth")
                    yield Label("Key file or password", classes="h-secret")
                with Vertical(id="add-cluster-hosts"):
                    for row in form.hosts:
                        yield self._host_row(row)
                yield Static("", id="r-hosts", classes="form-reason")
                yield Button("+ Add host", id="add-cluster-add-host")
                for key in ("data_devices", "management_if", "storage_if", "compute_if",
                            "compute_vlans", "cpu_type", "cpu_model"):
                    yield from self._field(key)
            with Horizontal(classes="dialog-buttons"):
                yield Static("", id="add-cluster-status", classes="dim")
                yield Button("Next: preflight", variant="primary", id="add-cluster-next",
                             disabled=True)
                yield Button("Cancel (esc)", id="add-cluster-cancel")

    def _field(self, key: str) -> Iterator[Widget]:
        label, placeholder = FIELDS[key]
        suggestions = {"cpu_type": CPU_TYPES, "cpu_model": self.cpu_models}.get(key)
        value = self.form.get(key)
        if value:
            self._touched.add(f"f-{key}")
        named = len(self.cpu_models) - len(CPU_MODELS)
        tooltip = ("host-model (default), host-passthrough" + (
            f" or one of {named} named models from libvirt's CPU map" if named else "") +
            ": type the first letters, then → to complete") if key == "cpu_model" else None
        yield Horizontal(
            Label(label, classes="form-label", id=f"l-{key}"),
            Input(value, placeholder=placeholder, id=f"f-{key}", tooltip=tooltip,
                  select_on_focus=False,
                  suggester=SuggestFromList(suggestions, case_sensitive=key != "cpu_model")
                  if suggestions else None),
            Static("", id=f"r-{key}", classes="form-reason"),
            classes="form-row", id=f"row-{key}",
        )

    def _host_row(self, row: HostRow) -> Vertical:
        rid = self._next_row
        self._next_row += 1
        self._rows.append(rid)
        inputs: list[Widget] = []
        number = len(self._rows)
        for name, _, example in HOST_COLUMNS:
            placeholder = {"name": f"hv{number}", "address": f"10.0.0.{10 + number}"}.get(
                name, example)
            value = str(getattr(row, name))
            if value:
                self._touched.add(f"h{rid}-{name}")
            inputs.append(Input(value, placeholder=placeholder, id=f"h{rid}-{name}",
                                classes=f"h-{name}", select_on_focus=False))
        key_file = Input(row.key_file, placeholder="~/.ssh/id_ed25519 (default: ssh's)",
                         id=f"h{rid}-key_file", classes="h-secret", select_on_focus=False)
        password = Input(row.password.get_secret_value(), password=True, placeholder="password",
                         id=f"h{rid}-password", classes="h-secret", select_on_focus=False)
        key_file.display = row.auth is Auth.KEY
        password.display = row.auth is Auth.PASSWORD
        if row.key_file:
            self._touched.add(key_file.id or "")
        return Vertical(
            Horizontal(
                *inputs,
                Select(AUTH_CHOICES, value=row.auth, allow_blank=False, id=f"h{rid}-auth",
                       classes="h-auth"),
                key_file, password,
                Button("-", id=f"h{rid}-remove", classes="h-remove",
                       tooltip="Remove this host (-)"),
                classes="host-row",
            ),
            Static("", id=f"h{rid}-reason", classes="form-reason host-reason"),
            classes="host", id=f"host-{rid}",
        )

    def on_mount(self) -> None:
        self._show_switches()
        self._refresh()

    # ------------------------------------------------------------------ events

    def _key_of(self, widget_id: str) -> str | None:
        """The form's key of an input: "f-name" -> "name", "h4-address" -> "hosts[1].address"."""
        if widget_id.startswith("f-"):
            return widget_id[2:]
        rid, _, name = widget_id[1:].partition("-")
        if widget_id.startswith("h") and rid.isdigit() and int(rid) in self._rows:
            return host_key(self._rows.index(int(rid)), name)
        return None

    def on_input_changed(self, event: Input.Changed) -> None:
        widget_id = event.input.id or ""
        key = self._key_of(widget_id)
        if key is None:
            return
        self.form.set(key, event.value)
        self._touched.add(widget_id)
        self._refresh()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        chosen = event.pressed.id or ""
        if event.radio_set.id == "add-cluster-layout":
            self.form.layout = Layout(chosen.removeprefix("layout-"))
        elif event.radio_set.id == "add-cluster-storage-kind":
            self.form.storage_kind = StorageKind(chosen.removeprefix("storage-"))
        self._show_switches()
        self._refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        widget_id = event.select.id or ""
        key = self._key_of(widget_id)
        if key is None or not isinstance(event.value, Auth):
            return
        rid = widget_id[1:].partition("-")[0]
        self.form.hosts[self._rows.index(int(rid))].auth = event.value
        self.query_one(f"#h{rid}-key_file").display = event.value is Auth.KEY
        self.query_one(f"#h{rid}-password").display = event.value is Auth.PASSWORD
        self._refresh()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "add-cluster-next":
            self.action_submit()
        elif button == "add-cluster-cancel":
            self.action_cancel()
        elif button == "add-cluster-add-host":
            await self.action_add_host()
        elif button.endswith("-remove"):
            self._remove_row(int(button[1:].partition("-")[0]))

    # ------------------------------------------------------------------ actions

    async def action_add_host(self) -> None:
        row = self.form.add_host()
        widget = self._host_row(row)
        await self.query_one("#add-cluster-hosts").mount(widget)
        self._refresh()
        self.query_one(f"#h{self._rows[-1]}-name", Input).focus()

    def action_remove_host(self) -> None:
        """Remove the host row that has the focus (only that one: '-' elsewhere in the form
        removes nothing)."""
        focused = self.focused
        for node in focused.ancestors_with_self if focused is not None else ():
            if node.id and node.id.startswith("host-") and node.id[5:].isdigit():
                self._remove_row(int(node.id[5:]))
                return
        self.notify("Move to a host row (or its - button) to remove that host.",
                    title="Remove host", severity="warning")

    def _remove_row(self, rid: int) -> None:
        if rid not in self._rows:
            return
        index = self._rows.index(rid)
        self.form.remove_host(index)
        self._rows.pop(index)
        self._touched = {t for t in self._touched if not t.startswith(f"h{rid}-")}
        self.query_one(f"#host-{rid}").remove()
        self._refresh()
        if self._rows:
            after = self._rows[min(index, len(self._rows) - 1)]
            self.call_after_refresh(self.query_one(f"#h{after}-remove", Button).focus)
        else:
            self.query_one("#add-cluster-add-host", Button).focus()

    def action_submit(self) -> None:
        if self.form.is_valid:
            self.dismiss(copy.deepcopy(self.form))
        else:
            self._refresh(show_all=True)

    def action_cancel(self) -> None:
        """Close the wizard; once it holds anything, only when the operator confirms."""
        if self.form == ClusterForm():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal(
            title="Discard this cluster's form?",
            consequence="What was typed in is lost. Cancel keeps the form as it is.",
            steps=(), verb="Discard"), answered)

    # ------------------------------------------------------------------ showing the errors

    def _show_switches(self) -> None:
        external = self.form.layout is Layout.EXTERNAL
        self.query_one("#add-cluster-storage").display = external
        label, placeholder = STORAGE_LABELS[self.form.storage_kind]
        self.query_one("#l-storage_target", Label).update(label)
        self.query_one("#f-storage_target", Input).placeholder = placeholder
        self.query_one("#row-iscsi_iqn").display = self.form.storage_kind is StorageKind.ISCSI
        devices = "Data devices" if external else "Data devices (Ceph)"
        self.query_one("#l-data_devices", Label).update(devices)

    def _refresh(self, show_all: bool = False) -> None:
        """Show each reason of a field typed in, the hosts' count, the button's state."""
        errors = self.form.errors()
        if show_all:
            self._touched |= {f"f-{key}" for key in FIELDS}
            self._touched |= {f"h{rid}-{name}" for rid in self._rows
                              for name in (*HostRow.TEXT_FIELDS, "password")}
        for key in FIELDS:
            self._show(f"f-{key}", f"#r-{key}", errors.get(key))
        hosts = self.query_one("#r-hosts", Static)
        hosts.update(literal(errors.get("hosts", "")))
        hosts.display = "hosts" in errors
        for index, rid in enumerate(self._rows):
            reasons = []
            for name in (*HostRow.TEXT_FIELDS, "password"):
                reason = errors.get(host_key(index, name))
                shown = reason is not None and f"h{rid}-{name}" in self._touched
                self.query_one(f"#h{rid}-{name}", Input).set_class(shown, "-invalid")
                if shown:
                    reasons.append(f"{HOST_FIELD_NAMES[name]}: {reason}")
            line = self.query_one(f"#h{rid}-reason", Static)
            line.update(literal("; ".join(reasons)))
            line.display = bool(reasons)
        self.query_one("#add-cluster-next", Button).disabled = bool(errors)
        status = self.query_one("#add-cluster-status", Static)
        if errors:
            names = [describe_key(k) for k in errors]
            more = f" and {len(names) - 4} more" if len(names) > 4 else ""
            status.update(literal(f"To fill in or fix: {', '.join(names[:4])}{more}."))
        else:
            status.update("Ready: preflight checks every host before anything is changed.")

    def _show(self, input_id: str, reason_id: str, reason: str | None) -> None:
        shown = reason if input_id in self._touched else None
        self.query_one(f"#{input_id}", Input).set_class(shown is not None, "-invalid")
        self.query_one(reason_id, Static).update(literal(shown or ""))
