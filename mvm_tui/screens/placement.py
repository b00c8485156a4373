"""Manage Placement: choose where a VM runs and how the cluster may move it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet, Static

from mvm_tui.core.placement import HostRoom
from mvm_tui.models import Placement, Vm
from mvm_tui.services.placement import PlacementChoice
from mvm_tui.widgets.literal import literal, widget_id

STRATEGIES = {
    Placement.AUTO: "Auto: the cluster may move it to balance load",
    Placement.FAILOVER: "Failover: moved only when its host is lost",
    Placement.PINNED: "Pinned: never moved, not even when its host is lost",
}


class PlacementScreen(ModalScreen[PlacementChoice | None]):
    """Dismissed with the operator's choice, or None when cancelled."""

    AUTO_FOCUS = "#placement-strategy"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="placement.cancel"),
        # before the radio sets' own enter: space picks a button, enter applies
        Binding("enter", "apply", "Apply", id="placement.apply", priority=True),
    ]

    def __init__(self, vm: Vm, hosts: list[str], room: dict[str, HostRoom]) -> None:
        super().__init__()
        self.vm = vm
        self.hosts = hosts
        self.room = room

    def compose(self) -> ComposeResult:
        vm = self.vm
        with Vertical(classes="dialog", id="placement-dialog"):
            yield Label(literal(f"Placement of {vm.name}"), classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(literal(f"Now on {vm.host}, {vm.power}; {vm.vcpus} vCPU, "
                                     f"{vm.memory_mb} MB."), classes="dim")
                yield Label("Strategy")
                with RadioSet(id="placement-strategy"):
                    for strategy, text in STRATEGIES.items():
                        yield RadioButton(text, value=strategy is vm.placement,
                                          name=strategy.value, id=f"strategy-{strategy.value}")
                yield Label("Host (another host live-migrates it)")
                with RadioSet(id="placement-host"):
                    for host in self.hosts:
                        yield RadioButton(literal(self._host_label(host)),
                                          value=host == vm.host, name=host,
                                          disabled=not self._can_take(host),
                                          id=widget_id("host", host))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (enter)", variant="primary", id="placement-apply")
                yield Button("Cancel (esc)", id="placement-cancel")

    def _can_take(self, host: str) -> bool:
        room = self.room.get(host)
        return host == self.vm.host or (room is not None and room.fits(self.vm))

    def _host_label(self, host: str) -> str:
        if host == self.vm.host:
            return f"{host} (current)"
        room = self.room.get(host)
        if room is None:
            return f"{host}: cannot take VMs now"
        free = max(room.memory_mb - room.memory_used_mb, 0)
        return f"{host}: {free / 1024:.1f} GiB free, {room.load_pct:.0f}% CPU" + (
            "" if room.fits(self.vm) else " - no room")

    def _chosen(self, radio_set_id: str) -> str | None:
        pressed = self.query_one(radio_set_id, RadioSet).pressed_button
        return pressed.name if pressed is not None else None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "placement-apply":
            self.action_apply()
        else:
            self.dismiss(None)

    def action_apply(self) -> None:
        strategy = self._chosen("#placement-strategy") or self.vm.placement.value
        host = self._chosen("#placement-host") or self.vm.host or ""
        self.dismiss(PlacementChoice(Placement(strategy), host))

    def action_cancel(self) -> None:
        self.dismiss(None)
