"""HA incidents: one timeline per host loss (suspect, lost, fenced, each restart, back,
unfenced, failback), newest first, with how long each VM was down. Read-only."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from mvm_tui.core.ha_journal import Incident
from mvm_tui.widgets import format as fmt


class IncidentsScreen(ModalScreen[None]):
    AUTO_FOCUS = "#incidents-close"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,i", "app.pop_screen", "Close", id="incidents.close"),
    ]

    def __init__(self, incidents: tuple[Incident, ...]) -> None:
        super().__init__()
        self.incidents = incidents

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="incidents-dialog"):
            yield Label("HA incidents, newest first", classes="dialog-title")
            with VerticalScroll(id="incidents-list", classes="dialog-body"):
                if not self.incidents:
                    yield Static(Text("No host has been lost since HA started here.",
                                      style="dim"))
                for incident in self.incidents:
                    yield Static(_incident(incident), classes="incident")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", id="incidents-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.app.pop_screen()


def _incident(inc: Incident) -> RenderableType:
    if inc.end is None:
        state = Text("open", style="bold red" if inc.lost else "yellow")
    else:
        state = Text(f"over after {fmt.duration(inc.end - inc.start)}", style="green")
    head = Text.assemble((inc.host, "bold"), f"  from {fmt.clock_time(inc.start)}  ", state)
    lines = [Text(line) for line in inc.lines()]  # (host and VM names shown literally)
    down = ", ".join(f"{vm} {fmt.duration(s)}" for vm, s in sorted(inc.downtime.items()))
    tail = [Text(f"down: {down}", style="yellow")] if down else []
    return Group(head, *lines, *tail, Text(""))
