"""The failover drill: what would happen to every VM if a host were lost now. Changes nothing."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from mvm_tui.core.failover_plan import DrillReport
from mvm_tui.widgets.literal import literal


class DrillScreen(ModalScreen[None]):
    AUTO_FOCUS = "#drill-close"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "app.pop_screen", "Close", id="drill.close"),
    ]

    def __init__(self, report: DrillReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        r = self.report
        table = Table(box=None, padding=(0, 2), header_style="bold")
        table.add_column("VM")
        table.add_column("if the host is lost")
        for vm, target in r.restarts:
            table.add_row(literal(vm), Text(f"restarts on {target}", style="green"))
        for vm, why in r.stay_down:
            table.add_row(literal(vm), Text(f"stays down: {why}", style="yellow"))
        for vm in r.not_running:
            table.add_row(literal(vm), Text("not running: nothing to do", style="dim"))
        verdict = (Text("Capacity suffices for every Auto and Failover VM.", style="green")
                   if r.capacity_ok else
                   Text("Capacity does NOT suffice: some VMs would stay down.", style="bold red"))
        with Vertical(classes="dialog", id="drill-dialog"):
            yield Label(literal(f"Failover drill: what if {r.host} is lost now?"),
                        classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static("Fenced first (Ceph blocklist), then restarted by priority and "
                             "load. Nothing is changed by this drill.", classes="dim")
                yield Static(table, id="drill-table")
                yield Static(verdict, id="drill-verdict")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (esc)", id="drill-close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.app.pop_screen()
