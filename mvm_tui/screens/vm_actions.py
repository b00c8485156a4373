"""VM actions, shared by the VMs screen and VM detail: preview, confirm, run, log."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from mvm_tui.backends.base import BackendError
from mvm_tui.core.placement import rooms
from mvm_tui.models import PowerAction, PowerState, Vm
from mvm_tui.screens.boot_log import BootLogScreen
from mvm_tui.screens.console import ConsoleScreen
from mvm_tui.screens.placement import PlacementScreen
from mvm_tui.screens.power_dialogs import escalate_modal, power_modal
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.snapshots import SnapshotsScreen
from mvm_tui.screens.vm_changes import VmChangeActions
from mvm_tui.services.cluster import power_actions
from mvm_tui.services.placement import PlacementChoice, check_choice
from mvm_tui.services.power_runs import ShutdownChoice
from mvm_tui.widgets.confirm import ConfirmModal


class VmActionsScreen(VmChangeActions):
    """A screen with a current VM, offering the power actions that apply to its state, and
    its resize and delete (VmChangeActions)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "power('start')", "Start", id="vm.start"),
        Binding("d", "power('shutdown')", "Shut down", id="vm.shutdown"),
        Binding("f", "power('poweroff')", "Power off", id="vm.poweroff"),
        Binding("r", "power('reboot')", "Reboot", id="vm.reboot"),
        Binding("p", "placement", "Placement", id="vm.placement"),
        Binding("e", "resize", "Resize", id="vm.resize", show=False),  # (in ? Keys)
        Binding("D", "delete", "Delete", id="vm.delete", show=False),  # (in ? Keys)
        Binding("y", "clone", "Clone", id="vm.clone", show=False),
        Binding("R", "rename", "Rename", id="vm.rename", show=False),
        Binding("c", "console", "Console", id="vm.console", show=False),
        Binding("l", "boot_log", "Boot log", id="vm.boot_log", show=False),
        # (not `S`: in the VM tables that reverses the sort)
        Binding("b", "snapshots", "Snapshots", id="vm.snapshots", show=False),
    ]

    def selected_vm(self) -> Vm | None:
        raise NotImplementedError

    def palette_subject(self, action: str) -> str | None:
        vm = self.selected_vm()
        return vm.name if vm is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "placement":
            return self.selected_vm() is not None
        if action in ("resize", "delete", "clone", "rename"):
            return self.can_change()
        if action == "snapshots":
            vm = self.selected_vm()
            return vm is not None and vm.host is not None \
                and self.cluster.backend.snapshots() is not None
        if action == "console":
            vm = self.selected_vm()
            return self.cluster.backend.consoles() is not None and vm is not None \
                and vm.power in (PowerState.RUNNING, PowerState.PAUSED)
        if action == "power":
            vm = self.selected_vm()
            return vm is not None and PowerAction(str(parameters[0])) in power_actions(vm)
        return True

    _offered: tuple[PowerAction, ...] | None = None  # the VM actions the footer shows

    def refresh_inventory(self) -> None:
        self.refresh_offer()

    def refresh_offer(self) -> None:
        """Recompose the footer (20-30 ms at 5,000 VMs) only when the VM actions it offers
        changed: no VM selected, or one in another power state; not at every refresh tick
        or cursor move."""
        vm = self.selected_vm()
        offered = None if vm is None else power_actions(vm)
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    def action_power(self, action_name: str) -> None:
        vm = self.selected_vm()
        if vm is not None and not self.refuse_runs():
            self.confirm_power(vm, PowerAction(action_name))

    def confirm_power(self, vm: Vm, action: PowerAction) -> None:
        if action not in power_actions(vm):
            return
        wait = self.cluster.power.waits.of_vm(vm.name)
        if wait is not None and action in (PowerAction.SHUTDOWN, PowerAction.POWEROFF):
            # a shutdown run of this VM waits for its guest: that run powers it off
            if action is PowerAction.POWEROFF and wait.open:
                run_id = wait.run_id

                def escalate(ok: bool | None) -> None:
                    if ok and self.cluster.power.waits.choose(run_id, ShutdownChoice.POWER_OFF):
                        self.app.push_screen(RunDetailScreen(run_id))

                self.app.push_screen(escalate_modal(self.cluster, vm, wait), escalate)
            else:
                self.notify(f"run #{wait.run_id} is shutting {vm.name} down already",
                            title="Shut down", markup=False)
                self.app.push_screen(RunDetailScreen(wait.run_id))
            return
        if not action.disruptive:
            self._start(vm, action)
            return
        modal = power_modal(self.cluster, vm, action)
        self.app.push_screen(modal, lambda ok: self._start(vm, action) if ok else None)

    def _start(self, vm: Vm, action: PowerAction) -> None:
        run = self.cluster.create_power_run(vm, action)
        self._execute(run.id, run.title)

    def action_console(self) -> None:
        vm, sessions = self.selected_vm(), self.cluster.consoles
        if vm is None or self.cluster.backend.consoles() is None:
            return
        name = vm.name
        self.app.push_screen(ConsoleScreen(
            f"console of VM {name}",
            lambda force: sessions.open_console(name, force=force, via="TUI"),
            leaving=f"leaves the console; VM {name} keeps running"))

    def action_snapshots(self) -> None:
        vm = self.selected_vm()
        if vm is not None and not self.refuse_runs():
            self.app.push_screen(SnapshotsScreen(self.cluster, vm.name), lambda run: (
                self._execute(run.id, run.title) if run is not None else None))

    def action_boot_log(self) -> None:
        vm, consoles = self.selected_vm(), self.cluster.backend.consoles()
        if vm is not None and consoles is not None:
            self.app.push_screen(BootLogScreen(vm.name, consoles))

    def action_placement(self) -> None:
        vm = self.selected_vm()
        if vm is not None and not self.refuse_runs():
            self.open_placement(vm)

    def open_placement(self, vm: Vm) -> None:
        snap = self.cluster.snapshot()
        dialog = PlacementScreen(vm, [h.name for h in snap.hosts], rooms(snap))
        self.app.push_screen(dialog, lambda choice: self._placement_chosen(vm, choice))

    def _placement_chosen(self, vm: Vm, choice: PlacementChoice | None) -> None:
        if choice is None or (choice.host == vm.host and choice.placement is vm.placement
                              and choice.home_host == vm.home_host):
            return
        if choice.host == vm.host:
            self._start_placement(vm, choice)
            return
        try:
            check_choice(self.cluster.snapshot(), vm, choice)
            steps = self.cluster.placement_preview(vm, choice)
        except BackendError as exc:
            self.notify(str(exc), title="Placement not changed", severity="error")
            return
        modal = ConfirmModal(
            title=f"Live-migrate {vm.name} from {vm.host} to {choice.host}?",
            consequence="The VM keeps running; it pauses for a moment (the downtime, usually "
            "well under a second) when it switches over to the new host.",
            steps=steps,
            verb="Migrate",
        )
        self.app.push_screen(modal, lambda ok: self._start_placement(vm, choice) if ok else None)

    def _start_placement(self, vm: Vm, choice: PlacementChoice) -> None:
        try:
            run = self.cluster.create_placement_run(vm, choice)
        except BackendError as exc:
            self.notify(str(exc), title="Placement not changed", severity="error")
            return
        self._execute(run.id, run.title)
