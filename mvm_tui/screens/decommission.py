"""Decommission a Ceph host: its plan (maintenance first, its OSDs, its monitor, whether the
cluster can do without it, every step with its commands) before anything runs; starting it
takes the host's name typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mvm_tui.core.decommission import DecommissionPlan
from mvm_tui.runs import Step
from mvm_tui.widgets.confirm import preview_text
from mvm_tui.widgets.literal import literal

# dismissed with "start", "maintenance" (enter it first) or None
Choice = str | None


def unmet(plan: DecommissionPlan) -> list[str]:
    """What must hold before the decommission can start, each said as the condition to reach
    (the plan's blockers say what is wrong; here, what is needed), with what it is now."""
    out = [] if plan.in_maintenance else [f"{plan.host} is in maintenance (m enters it)"]
    return out + [f"{c.what} (now: {c.detail})" for c in plan.checks if not c.ok]


def blocked_text(plan: DecommissionPlan) -> Text:
    text = Text("Nothing can run until:", style="bold yellow")
    for line in unmet(plan):
        text.append(f"\n  • {line}", style="yellow")
    return text


class DecommissionScreen(ModalScreen[Choice]):
    AUTO_FOCUS = "#decommission-name, #decommission-no"  # the name to type, when it can start
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "maintenance", "Enter maintenance first", id="decommission.maintenance"),
        Binding("escape", "cancel", "Cancel", id="decommission.cancel"),
    ]

    def __init__(self, plan: DecommissionPlan, steps: Sequence[Step]) -> None:
        super().__init__()
        self.plan = plan
        self.steps = tuple(steps)

    def compose(self) -> ComposeResult:
        plan = self.plan
        osds = Table(box=None, padding=(0, 2), header_style="bold")
        for column in ("OSD", "size", "used", "PGs", "state"):
            osds.add_column(column)
        for o in plan.osds:
            osds.add_row(f"osd.{o.id}", f"{o.size_gb:g} GB", f"{o.used_gb:g} GB", str(o.pgs),
                         f"{'up' if o.up else 'down'}, {'in' if o.in_ else 'out'}")
        checks = Text()
        if not plan.in_maintenance:
            checks.append(f"✘ {plan.host} must be in maintenance first (m)\n", style="bold red")
        for c in plan.checks:
            checks.append(f"{'✔' if c.ok else '✘'} {c.what}: ", style="green" if c.ok else "red")
            checks.append(f"{c.detail}\n")
        for w in plan.warnings:
            checks.append("⚠ warning: ", style="bold yellow")
            checks.append(f"{w}\n")
        with Vertical(classes="dialog", id="decommission-dialog"):
            yield Label(Text(f"Decommission {plan.host} (CRUSH host {plan.bucket})"),
                        classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(osds, id="decommission-osds")
                yield Static(Text(f"Monitor: {plan.mon or 'none'}"), id="decommission-mon")
                yield Static(checks, id="decommission-checks")
                yield Static(preview_text(self.steps), id="confirm-preview")
                if plan.blockers:
                    yield Static(blocked_text(plan), id="decommission-blocked")
                else:
                    yield Static(Text(f"Type {plan.host} to start; the run can be paused, "
                                      "resumes after a restart, and stops at every guard."),
                                 classes="dim")
            with Horizontal(classes="dialog-buttons"):
                if not plan.blockers:
                    yield Input(placeholder=f"type {plan.host}", id="decommission-name")
                    yield Button("Decommission", variant="error", id="decommission-yes",
                                 disabled=True)
                yield Button("Cancel (esc)", id="decommission-no")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#decommission-yes", Button).disabled = event.value != self.plan.host

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.plan.host:
            self.dismiss("start")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss("start" if event.button.id == "decommission-yes" else None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "maintenance":
            return not self.plan.in_maintenance
        return True

    def action_maintenance(self) -> None:
        if not self.plan.in_maintenance:
            self.dismiss("maintenance")

    def action_cancel(self) -> None:
        self.dismiss(None)


class TypeHostScreen(ModalScreen[bool]):
    """Override a guard of a run: only with the host's name typed."""

    AUTO_FOCUS = "#override-name"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="override.cancel"),
    ]

    def __init__(self, host: str, why: str) -> None:
        super().__init__()
        self.host, self.why = host, why

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="override-dialog"):
            yield Label(literal(f"Override a guard of the decommission of {self.host}?"),
                        classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(Text(self.why, style="yellow"))
                yield Static(literal(f"Type {self.host} to pass this guard once and retry."),
                             classes="dim")
            with Horizontal(classes="dialog-buttons"):
                yield Input(placeholder=f"type {self.host}", id="override-name")
                yield Button("Cancel (esc)", id="override-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.host:
            self.dismiss(True)
        else:
            self.notify(f"type {self.host} exactly", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(False)
