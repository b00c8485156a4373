"""Add Worker: the new host's fields (as in the Add Cluster wizard), each checked as it is
typed; dismissed with the HostRow (then the preflight, the provisioning and the join) or None."""

from __future__ import annotations

import copy
from typing import ClassVar

from pydantic import SecretStr
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mvm_tui.core.cluster_form import Auth, HostRow
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.literal import literal

FIELDS = (("name", "name"), ("address", "address"), ("port", "SSH port"), ("user", "user"),
          ("key_file", "key file (empty: ssh's keys)"), ("password", "or password"))


class AddWorkerScreen(ModalScreen[HostRow | None]):
    AUTO_FOCUS = "#worker-name"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="add_worker.cancel"),
    ]

    def __init__(self, cluster: str, taken: set[str], row: HostRow | None = None) -> None:
        super().__init__()
        self.cluster, self.taken = cluster, taken  # names and addresses in the cluster already
        self.row = copy.deepcopy(row) if row is not None else HostRow()  # back from preflight

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="add-worker-dialog"):
            yield Label(literal(f"Add a worker to {self.cluster}"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                for key, label in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(value=str(getattr(self.row, key, "")) if key != "password"
                                    else self.row.password.get_secret_value(),
                                    password=key == "password", id=f"worker-{key}",
                                    select_on_focus=False)
                        yield Static("", id=f"worker-{key}-why", classes="form-reason")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Next: preflight", variant="primary", id="worker-next",
                             disabled=True)
                yield Button("Cancel (esc)", id="worker-cancel")

    def on_mount(self) -> None:
        self._show("")

    def on_input_changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("worker-")
        if key == "password":
            self.row.password = SecretStr(event.value)
            self.row.auth = Auth.PASSWORD if event.value else Auth.KEY
        elif key:
            setattr(self.row, key, event.value)
        self._show(key)

    def _show(self, key: str) -> None:
        """The reasons of the fields typed in (and of `key`), and the Next button's state."""
        errors = self.errors()
        for field, _ in FIELDS:
            why = self.query_one(f"#worker-{field}-why", Static)
            typed = bool(self.query_one(f"#worker-{field}", Input).value)
            why.update(literal(errors.get(field, "") if typed or field == key else ""))
        self.query_one("#worker-next", Button).disabled = bool(errors)

    def errors(self) -> dict[str, str]:
        errors = self.row.field_errors()
        if self.row.name in self.taken:
            errors["name"] = f"{self.row.name} is in the cluster already"
        if self.row.address in self.taken:
            errors["address"] = f"{self.row.address} is in the cluster already"
        return errors

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "worker-next" and not self.errors():
            self.dismiss(self.row)
        elif event.button.id == "worker-cancel":
            self.action_cancel()

    def action_cancel(self) -> None:
        """Close; once something was typed in, only when the operator confirms."""
        if self.row == HostRow():
            self.dismiss(None)
            return
        self.app.push_screen(ConfirmModal(
            title="Discard this worker's form?",
            consequence="What was typed in is lost. Cancel keeps the form as it is.",
            steps=(), verb="Discard"), self._discard_if_confirmed)

    def _discard_if_confirmed(self, discard: bool | None) -> None:
        if discard:
            self.dismiss(None)
