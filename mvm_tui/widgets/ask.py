"""Ask the operator for one value (a size, a VLAN): dismissed with the text, or None."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mvm_tui.widgets.literal import literal


class AskModal(ModalScreen[str | None]):
    AUTO_FOCUS = "#ask-value"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ask.cancel"),
    ]

    def __init__(self, title: str, label: str, value: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text, self.label, self.value, self.hint = title, label, value, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ask-dialog"):
            yield Label(literal(self.title_text), classes="dialog-title")
            if self.hint:
                yield Static(literal(self.hint), classes="dim")
            yield Label(literal(self.label))
            yield Input(self.value, id="ask-value")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Plan (enter)", variant="primary", id="ask-ok")
                yield Button("Cancel (esc)", id="ask-cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one("#ask-value", Input).value.strip()
                     if event.button.id == "ask-ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
