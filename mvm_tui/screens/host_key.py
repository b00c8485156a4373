"""Asked when a host presents an SSH key that known_hosts does not hold yet."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from mvm_tui.backends.ssh import HostKeyUnknown
from mvm_tui.widgets.literal import literal


class HostKeyScreen(ModalScreen[bool]):
    """Dismissed with True only when the operator trusts the key (it is then saved)."""

    AUTO_FOCUS = "#hostkey-refuse"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Trust", id="hostkey.accept"),
        Binding("r,escape", "refuse", "Refuse", id="hostkey.refuse"),
    ]

    def __init__(self, unknown: HostKeyUnknown) -> None:
        super().__init__()
        self.unknown = unknown

    def compose(self) -> ComposeResult:
        u = self.unknown
        with Vertical(classes="dialog", id="hostkey-dialog"):
            yield Label(literal(f"Unknown host key: {u.host}"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(literal(
                    f"{u.host} at {u.address} port {u.port} presents a key that "
                    f"{u.known_hosts} does not hold:"
                ))
                yield Static(literal(u.fingerprint), id="hostkey-fingerprint")
                yield Static(
                    "Compare it with the host's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub "
                    "on its console). Trusted, it is saved there and checked from then on.",
                    classes="dim",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Trust and save (a)", variant="warning", id="hostkey-accept")
                yield Button("Refuse (r)", variant="default", id="hostkey-refuse")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "hostkey-accept")

    def action_accept(self) -> None:
        self.dismiss(True)

    def action_refuse(self) -> None:
        self.dismiss(False)
