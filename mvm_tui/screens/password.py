"""Asks for an SSH login or sudo password; it is kept in memory only, never shown or saved."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mvm_tui.backends.ssh import SshTarget
from mvm_tui.widgets.literal import literal


class PasswordScreen(ModalScreen[str | None]):
    """Dismissed with the password typed, or None when the operator cancels."""

    AUTO_FOCUS = "#password-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="password.cancel"),
    ]

    def __init__(self, target: SshTarget, purpose: str) -> None:
        super().__init__()
        self.target = target
        self.purpose = purpose

    def compose(self) -> ComposeResult:
        t = self.target
        with Vertical(classes="dialog", id="password-dialog"):
            yield Label(literal(f"{self.purpose.capitalize()} password: {t.name}"),
                        classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(literal(f"{t.user}@{t.address} port {t.port}. Kept in memory "
                                     "only."), classes="dim")
            with Horizontal(classes="dialog-buttons"):
                yield Input(password=True, id="password-input")
                yield Button("Cancel (esc)", id="password-cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
