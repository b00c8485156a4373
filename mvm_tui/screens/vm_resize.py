"""Resize a VM: its vCPUs and memory, with what will be done live and what waits for a
restart said as the values are typed (core/vm_change.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from mvm_tui.core.vm_change import VmShape, plan_resize
from mvm_tui.units import count
from mvm_tui.widgets.literal import literal


@dataclass(frozen=True)
class ResizeChoice:
    vcpus: int
    memory_mb: int
    allow_reserve_break: bool


class ResizeScreen(ModalScreen[ResizeChoice | None]):
    """Dismissed with the new size, or None when cancelled."""

    AUTO_FOCUS = "#resize-vcpus"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="resize.cancel"),
    ]

    def __init__(self, vm: str, shape: VmShape) -> None:
        super().__init__()
        self.vm, self.shape = vm, shape

    def compose(self) -> ComposeResult:
        s = self.shape
        with Vertical(classes="dialog", id="resize-dialog"):
            yield Label(literal(f"Resize {self.vm}"), classes="dialog-title")
            yield Static(literal(
                f"Now {count(s.vcpus, 'vCPU')} and {s.memory_mb} MiB; live up to "
                f"{count(s.max_vcpus, 'vCPU')} and {s.max_memory_mb} MiB "
                f"({count(s.free_slots, 'memory slot')} free). {s.pending}"), classes="dim")
            yield Label("vCPUs")
            yield Input(str(s.next_vcpus), id="resize-vcpus", type="integer")
            yield Label("Memory (MiB)")
            yield Input(str(s.next_memory_mb), id="resize-memory", type="integer")
            yield Checkbox("Grow it even if the failover reserve breaks", id="resize-override")
            yield Static("", id="resize-plan")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Plan (enter)", variant="primary", id="resize-apply")
                yield Button("Cancel (esc)", id="resize-cancel")

    def on_mount(self) -> None:
        self._show_plan()

    def _values(self) -> tuple[int, int] | None:
        try:
            return (int(self.query_one("#resize-vcpus", Input).value),
                    int(self.query_one("#resize-memory", Input).value))
        except ValueError:
            return None

    def _show_plan(self) -> str:
        """What the values would do ("" when they can be done), shown under the fields."""
        values = self._values()
        try:
            if values is None:
                raise ValueError("give whole numbers")
            says = "\n".join(plan_resize(self.shape, *values).says)
            problem = ""
        except ValueError as exc:
            says = problem = str(exc)
        self.query_one("#resize-plan", Static).update(literal(says))
        return problem

    def on_input_changed(self) -> None:
        self._show_plan()

    def on_input_submitted(self) -> None:
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "resize-apply":
            self.action_apply()
        else:
            self.dismiss(None)

    def action_apply(self) -> None:
        values = self._values()
        if self._show_plan() or values is None:
            return  # (the plan line says why)
        self.dismiss(ResizeChoice(*values, self.query_one("#resize-override", Checkbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
