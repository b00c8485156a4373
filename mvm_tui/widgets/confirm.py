"""A confirmation dialog that shows exactly what will run before anything does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from mvm_tui.runs import Step
from mvm_tui.widgets.literal import literal


def preview_text(steps: Sequence[Step]) -> Text:
    text = Text()
    for n, step in enumerate(steps, 1):
        text.append(f"{n}. {step.title}\n", style="bold")
        for command in step.preview:
            text.append(f"   $ {command}\n", style="cyan")
    return text


class ConfirmModal(ModalScreen[bool]):
    """Dismissed with True only when the operator confirms."""

    AUTO_FOCUS = "#confirm-no"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Confirm", id="confirm.yes"),
        Binding("n,escape", "cancel", "Cancel", id="confirm.no"),
    ]

    def __init__(self, title: str, consequence: str, steps: Sequence[Step], verb: str) -> None:
        super().__init__()
        self.title_text = title
        self.consequence = consequence
        self.steps = tuple(steps)
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label(literal(self.title_text), id="confirm-title", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(literal(self.consequence), id="confirm-consequence")
                if self.steps:
                    yield Label("It will run:", classes="dim")
                    yield Static(preview_text(self.steps), id="confirm-preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.verb} (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", variant="default", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
