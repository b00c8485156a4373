"""A confirmation for what cannot be undone in a keystroke (deleting a VM): the exact steps
and commands, and a field where the operator types the name; the button works only once the
name is typed exactly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mvm_tui.runs import Step
from mvm_tui.widgets.confirm import preview_text
from mvm_tui.widgets.literal import literal


class TypedConfirmModal(ModalScreen[bool]):
    """Dismissed with True only when `name` was typed and confirmed."""

    AUTO_FOCUS = "#typed-name"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="typed.cancel"),
    ]

    def __init__(self, title: str, consequence: str, steps: Sequence[Step], name: str,
                 verb: str) -> None:
        super().__init__()
        self.title_text, self.consequence, self.steps = title, consequence, tuple(steps)
        self.typed_name, self.verb = name, verb

    def compose(self) -> ComposeResult:
        with Vertical(id="typed-dialog", classes="dialog"):
            yield Label(literal(self.title_text), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(literal(self.consequence))
                yield Label("It will run:", classes="dim")
                yield Static(preview_text(self.steps), id="typed-preview")
            yield Label(literal(f"Type {self.typed_name} to confirm:"))
            yield Input(id="typed-name", placeholder=self.typed_name)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.verb, variant="error", id="typed-yes", disabled=True)
                yield Button("Cancel (esc)", id="typed-no")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#typed-yes", Button).disabled = event.value != self.typed_name

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.typed_name:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "typed-yes" and
                     self.query_one("#typed-name", Input).value == self.typed_name)

    def action_cancel(self) -> None:
        self.dismiss(False)
