"""Resize, change and delete a VM from the VMs screen and VM detail (issue 17): the dialog,
then the exact steps and commands to confirm (the VM's name typed for a delete), then the run
and its live log. A mixin of VmActionsScreen (resize, delete) and VM detail (disks, NICs),
which offer the keys."""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.models import Vm
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.new_vm import NewVmScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_resize import ResizeScreen
from mvm_tui.services.workloads.change import consequence, title
from mvm_tui.widgets.ask import AskModal
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.typed_confirm import TypedConfirmModal


class VmChangeActions(ClusterScreen):
    def selected_vm(self) -> Vm | None:
        raise NotImplementedError

    def can_change(self) -> bool:
        vm = self.selected_vm()
        return vm is not None and vm.host is not None and \
            self.cluster.backend.workloads() is not None

    def _flow(self, flow: Coroutine[Any, Any, None]) -> None:
        """A dialog's flow (ask, plan, confirm, run), one at a time, unless runs are off."""
        if self.refuse_runs():
            flow.close()
            return
        self.run_worker(flow, group="vm-change", exclusive=True, exit_on_error=False)

    def action_resize(self) -> None:
        if (vm := self.selected_vm()) is not None:
            self._flow(self._resize(vm))

    def action_delete(self) -> None:
        if (vm := self.selected_vm()) is not None:
            self._flow(self._delete(vm))

    def action_new_vm(self) -> None:
        if self.cluster.backend.workloads() is None:
            self.notify(f"cluster {self.cluster.name} has no image library (HCI clusters "
                        "only)", title="New VM", severity="error", markup=False)
            return
        self._flow(self._new_vm())

    async def _new_vm(self) -> None:
        params = await self.app.push_screen_wait(
            NewVmScreen(self.cluster, self.cluster.plans))
        if params is None:
            return
        name, host = params["request"]["name"], params["host"]
        modal = ConfirmModal(
            title=f"Create {name} on {host}?",
            consequence=f"Its disks are cloned from {params['request']['image']} "
            "(copy-on-write), its cloud-init seed written to the pool, its definition made "
            "on its host" + (", then it is started." if params["request"]["start"] else "."),
            steps=self.cluster.create_vm_preview(params), verb="Create")
        if await self.app.push_screen_wait(modal):
            run = self.cluster.create_vm_run(params)
            self._execute(run.id, run.title)

    def action_clone(self) -> None:
        if (vm := self.selected_vm()) is not None:
            self._flow(self._copy_or_rename(vm, "clone"))

    def action_rename(self) -> None:
        if (vm := self.selected_vm()) is not None:
            self._flow(self._copy_or_rename(vm, "rename"))

    async def _copy_or_rename(self, vm: Vm, kind: str) -> None:
        """Clone (a copy, on DHCP: `mvm-tui vm clone --address` gives one) or rename a
        stopped VM: its new name asked, then the plan confirmed."""
        cloning = kind == "clone"
        name = await self.app.push_screen_wait(AskModal(
            f"{'Clone' if cloning else 'Rename'} {vm.name}", "New name", "",
            "Stopped VMs only. " + ("A copy of its disks, a seed of its own (new instance-id, "
                                    "its name, new MACs, DHCP)." if cloning else
                                    "Its disks are renamed too; its uuid, MACs and seed stay.")))
        if not name:
            return
        c = self.cluster
        try:
            params = await (c.clone_params(vm, name) if cloning else c.rename_params(vm, name))
        except (BackendError, ValueError) as exc:
            self.notify(str(exc), title=f"{vm.name} not {'cloned' if cloning else 'renamed'}",
                        severity="error", markup=False)
            return
        steps = c.clone_preview(params) if cloning else c.rename_preview(params)
        verb = "Clone" if cloning else "Rename"
        modal = ConfirmModal(title=f"{verb} {vm.name} as {name} on {params['host']}?",
                             consequence=f"{vm.name} stays as it is." if cloning else
                             f"{vm.name} is called {name} from then on.", steps=steps,
                             verb=verb)
        if await self.app.push_screen_wait(modal):
            run = c.create_clone_run(params) if cloning else c.create_rename_run(params)
            self._execute(run.id, run.title)

    async def _resize(self, vm: Vm) -> None:
        w = self.cluster.backend.workloads()
        if w is None or vm.host is None:
            return
        try:
            shape = await w.shape(vm.host, vm.name)
        except BackendError as exc:
            self.notify(str(exc), title=f"{vm.name} not resized", severity="error",
                        markup=False)
            return
        choice = await self.app.push_screen_wait(ResizeScreen(vm.name, shape))
        if choice is not None:
            await self._change(vm, {"kind": "resize", "vcpus": choice.vcpus,
                                    "memory_mb": choice.memory_mb,
                                    "allow_reserve_break": choice.allow_reserve_break})

    def ask_change(self, vm: Vm, ask: AskModal, kind: str, key: str,
                   **more: object) -> None:
        """Ask for one whole number (a size, a VLAN), then plan the change `kind` with it."""
        self._flow(self._ask(vm, ask, {"kind": kind, **more}, key))

    async def _ask(self, vm: Vm, ask: AskModal, request: dict[str, object], key: str) -> None:
        answer = await self.app.push_screen_wait(ask)
        if answer is None:
            return
        if not answer.isdigit():
            self.notify(f"{answer!r} is not a whole number", title=f"{vm.name} not changed",
                        severity="error", markup=False)
            return
        await self._change(vm, {**request, key: int(answer)})

    def plan_change(self, vm: Vm, request: Mapping[str, Any]) -> None:
        self._flow(self._change(vm, request))

    async def _change(self, vm: Vm, request: Mapping[str, Any]) -> None:
        try:
            params = await self.cluster.change_params(vm, request)
        except (BackendError, ValueError) as exc:
            self.notify(str(exc), title=f"{vm.name} not changed", severity="error",
                        markup=False)
            return
        modal = ConfirmModal(title=f"{title(params)}?", consequence=consequence(params),
                             steps=self.cluster.change_preview(params), verb="Apply")
        if await self.app.push_screen_wait(modal):
            self._execute(self.cluster.create_change_run(params).id, title(params))

    async def _delete(self, vm: Vm) -> None:
        try:
            params = self.cluster.delete_params(vm)
            steps = self.cluster.delete_preview(params)
        except BackendError as exc:
            self.notify(str(exc), title=f"{vm.name} not deleted", severity="error",
                        markup=False)
            return
        modal = TypedConfirmModal(
            title=f"Delete {vm.name}?",
            consequence=f"It is powered off and its definition removed from every host; HA "
            f"never starts it again. Its disks go to the trash, restorable until "
            f"{params['expires']} UTC (mvm-tui vm restore {vm.name}).",
            steps=steps, name=vm.name, verb="Delete")
        if await self.app.push_screen_wait(modal):
            run = self.cluster.create_delete_run(params)
            self._execute(run.id, run.title)

    def _execute(self, run_id: int, what: str) -> None:
        self.app.push_screen(RunDetailScreen(run_id))
        # On the app, not the screen: the run goes on when its log screen is closed.
        self.app.run_worker(self.cluster.execute(run_id), name=what, group="runs",
                            exit_on_error=False)
