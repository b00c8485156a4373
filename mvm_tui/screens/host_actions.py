"""Host actions, shared by the Hosts screen and host detail: Enter / Leave Maintenance, the
failover drill, Decommission."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from mvm_tui.backends.base import BackendError
from mvm_tui.core.failover import drill
from mvm_tui.models import Host, HostState, PowerAction, Vm
from mvm_tui.screens.console import ConsoleScreen
from mvm_tui.screens.decommission import DecommissionScreen
from mvm_tui.screens.drill import DrillScreen
from mvm_tui.screens.maintenance import Choice, MaintenanceScreen
from mvm_tui.screens.vm_actions import VmActionsScreen
from mvm_tui.services.decommission_runs import Decommissions
from mvm_tui.widgets.confirm import ConfirmModal

MAINTAINABLE = (HostState.ONLINE, HostState.SLOW, HostState.MAINTENANCE)


class HostActionsScreen(VmActionsScreen):
    """A screen with a current host (and maybe a current VM, for the VM actions)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "maintenance", "Maintenance", id="host.maintenance"),
        Binding("w", "drill", "What if lost", id="host.drill"),
        Binding("x", "decommission", "Decommission", id="host.decommission"),
        Binding("C", "shell", "Shell", id="host.shell", show=False),
    ]

    def selected_host(self) -> Host | None:
        raise NotImplementedError

    def selected_vm(self) -> Vm | None:
        return None

    def palette_subject(self, action: str) -> str | None:
        host = self.selected_host()
        if action in ("maintenance", "drill", "decommission") and host is not None:
            return host.name
        return super().palette_subject(action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "drill":
            return self.selected_host() is not None
        if action == "shell":
            host = self.selected_host()
            return host is not None and self.cluster.backend.shells() is not None \
                and host.state is not HostState.UNREACHABLE
        if action == "decommission":
            return self.selected_host() is not None and self.decommissions is not None
        if action == "maintenance":
            host = self.selected_host()
            return host is not None and host.state in MAINTAINABLE
        return super().check_action(action, parameters)

    def action_maintenance(self) -> None:
        host = self.selected_host()
        if host is None or host.state not in MAINTAINABLE or self.refuse_runs():
            return
        if host.state is HostState.MAINTENANCE:
            self._leave(host.name)
            return
        plan = self.cluster.maintenance.plan_enter(host.name)
        steps = self.cluster.maintenance_preview(plan) if plan.can_enter else []
        self.app.push_screen(MaintenanceScreen(plan, steps), self._maintenance_chosen)

    def action_shell(self) -> None:
        host, sessions = self.selected_host(), self.cluster.consoles
        if host is None or self.cluster.backend.shells() is None:
            return
        name = host.name
        self.app.push_screen(ConsoleScreen(
            f"shell on {name}", lambda _force: sessions.open_shell(name, 80, 24, via="TUI"),
            leaving="closes the shell"))

    def action_drill(self) -> None:
        host = self.selected_host()
        if host is None:
            return
        ha = self.ha
        if ha is not None and self.ha_status() is not None:  # what this HA would do now
            report = ha.engine.drill(host.name, ha.clock.now())
        else:  # decided the same way, with the same settings, from what the inventory shows
            report = drill(self.cluster.snapshot(), host.name, self.cluster.ha_settings)
        self.app.push_screen(DrillScreen(report))

    def _maintenance_chosen(self, choice: Choice) -> None:
        if choice is None:
            return
        what, name = choice
        try:
            if what == "enter":
                plan = self.cluster.maintenance.plan_enter(name)  # as it is now
                run = self.cluster.maintenance.create_enter_run(plan)
                self._execute(run.id, run.title)
            elif what == "placement":
                self.open_placement(self.cluster.vm(name))
            elif what == "poweroff":
                self.confirm_power(self.cluster.vm(name), PowerAction.POWEROFF)
        except BackendError as exc:
            self.notify(str(exc), title="Nothing was changed", severity="error")

    def _leave(self, host: str) -> None:
        plan = self.cluster.maintenance.plan_leave(host)
        back = ", ".join(plan.vms)
        consequence = f"{host} returns to the pool: it takes VMs again. " + (
            f"The VMs that left it come back: {back}." if back else "No VM comes back to it.")
        modal = ConfirmModal(
            title=f"Leave maintenance: {host}?", consequence=consequence,
            steps=self.cluster.leave_preview(host, plan), verb="Leave maintenance",
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                run = self.cluster.maintenance.create_leave_run(host, plan)
                self._execute(run.id, run.title)

        self.app.push_screen(modal, confirmed)

    # -- decommission (HCI clusters)

    def action_decommission(self) -> None:
        host, decom = self.selected_host(), self.decommissions
        if host is None or decom is None or self.refuse_runs():
            return
        self.run_worker(self._plan_decommission(decom, host), group="plans", exit_on_error=False)

    async def _plan_decommission(self, decom: Decommissions, host: Host) -> None:
        try:
            plan = await decom.plan(host.name, host.state is HostState.MAINTENANCE)
            steps = decom.preview(plan)
        except BackendError as exc:
            self.notify(str(exc), title="Cannot read the Ceph cluster", severity="error")
            return
        except ValueError as exc:  # a name Ceph's commands refuse (commands.check_name)
            self.notify(str(exc), title="Cannot plan the decommission", severity="error")
            return

        def chosen(choice: str | None) -> None:
            if choice == "maintenance":
                self.action_maintenance()
            elif choice == "start":
                try:
                    run = decom.create(plan)
                except BackendError as exc:
                    self.notify(str(exc), title="Nothing was changed", severity="error")
                    return
                self._execute(run.id, run.title)

        self.app.push_screen(DecommissionScreen(plan, steps), chosen)
