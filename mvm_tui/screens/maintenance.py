"""Enter Maintenance: what will happen to every VM of the host, and why, before anything moves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from mvm_tui.core.maintenance import Blocked, ColdMove, EvacuationPlan, LiveMigrate, Stay
from mvm_tui.runs import Step
from mvm_tui.units import count
from mvm_tui.widgets.confirm import preview_text
from mvm_tui.widgets.literal import literal

# dismissed with ("enter", host), ("placement", vm) or ("poweroff", vm), or None
Choice = tuple[str, str] | None


def fate(action: LiveMigrate | ColdMove | Stay | Blocked) -> Text:
    if isinstance(action, LiveMigrate):
        return Text(f"live-migrate to {action.target}", style="green")
    if isinstance(action, ColdMove):
        return Text(f"move (powered off) to {action.target}", style="cyan")
    if isinstance(action, Stay):
        return Text("stays, powered off", style="dim")
    return Text("BLOCKS maintenance", style="bold red")


class MaintenanceScreen(ModalScreen[Choice]):
    AUTO_FOCUS = "#maintenance-no"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "enter", "Enter maintenance", id="maintenance.confirm"),
        Binding("p", "remedy('placement')", "Its placement", id="maintenance.placement"),
        Binding("f", "remedy('poweroff')", "Power it off", id="maintenance.poweroff"),
        Binding("n,escape", "cancel", "Cancel", id="maintenance.cancel"),
    ]

    def __init__(self, plan: EvacuationPlan, steps: Sequence[Step]) -> None:
        super().__init__()
        self.plan = plan
        self.steps = tuple(steps)

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(classes="dialog", id="maintenance-dialog"):
            yield Label(literal(f"Enter maintenance: {plan.host}"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield from self._body()
            with Horizontal(classes="dialog-buttons"):
                if plan.can_enter:
                    yield Button("Enter maintenance (y)", variant="warning", id="maintenance-yes")
                yield Button("Cancel (n)", id="maintenance-no")

    def _body(self) -> ComposeResult:
        plan = self.plan
        table = Table(box=None, padding=(0, 2), header_style="bold")
        for column in ("VM", "power", "placement", "what happens", "why"):
            table.add_column(column)
        for a in plan.actions:
            table.add_row(literal(a.vm.name), a.vm.power.value, a.vm.placement.value,
                          fate(a), literal(a.reason))
        yield Static(table, id="maintenance-plan")
        if plan.refusal:
            yield Static(Text(plan.refusal, style="bold red"), id="maintenance-refusal")
        elif plan.blocked:
            names = ", ".join(b.vm.name for b in plan.blocked)
            yield Static(Text(
                f"Maintenance cannot start while {names} runs here. Nothing has moved. "
                f"p: change the placement of {plan.blocked[0].vm.name}; f: power it off.",
                style="yellow"), id="maintenance-blocked")
        else:
            moving = len(plan.moves)
            yield Static(literal(f"{plan.host} leaves the pool (no new VMs, not a target), "
                                 f"then {count(moving, 'VM')} "
                                 f"{'moves' if moving == 1 else 'move'}. It will run:"),
                         classes="dim")
            yield Static(preview_text(self.steps), id="confirm-preview")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "enter":
            return self.plan.can_enter
        if action == "remedy":
            return bool(self.plan.blocked)
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "maintenance-yes":
            self.action_enter()
        else:
            self.dismiss(None)

    def action_enter(self) -> None:
        if self.plan.can_enter:
            self.dismiss(("enter", self.plan.host))

    def action_remedy(self, what: str) -> None:
        if self.plan.blocked:
            self.dismiss((what, self.plan.blocked[0].vm.name))

    def action_cancel(self) -> None:
        self.dismiss(None)
