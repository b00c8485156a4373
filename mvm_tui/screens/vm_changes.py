"""Resize and delete a VM from the VMs screen and VM detail (issue 17): the dialog, then the
exact steps and commands to confirm (the VM's name typed for a delete), then the run and its
live log. A mixin of VmActionsScreen, which offers the keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.models import Vm
from mvm_tui.screens.base import ClusterScreen
from mvm_tui.screens.run_detail import RunDetailScreen
from mvm_tui.screens.vm_resize import ResizeScreen
from mvm_tui.services.workloads.change import title
from mvm_tui.widgets.confirm import ConfirmModal
from mvm_tui.widgets.typed_confirm import TypedConfirmModal


class VmChangeActions(ClusterScreen):
    def selected_vm(self) -> Vm | None:
        raise NotImplementedError

    def can_change(self) -> bool:
        vm = self.selected_vm()
        return vm is not None and vm.host is not None and \
            self.cluster.backend.workloads() is not None

    def action_resize(self) -> None:
        vm = self.selected_vm()
        if vm is not None and not self.refuse_runs():
            self.run_worker(self._resize(vm), group="vm-change", exclusive=True,
                            exit_on_error=False)

    def action_delete(self) -> None:
        vm = self.selected_vm()
        if vm is not None and not self.refuse_runs():
            self.run_worker(self._delete(vm), group="vm-change", exclusive=True,
                            exit_on_error=False)

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

    async def _change(self, vm: Vm, request: Mapping[str, Any]) -> None:
        try:
            params = await self.cluster.change_params(vm, request)
        except (BackendError, ValueError) as exc:
            self.notify(str(exc), title=f"{vm.name} not changed", severity="error",
                        markup=False)
            return
        modal = ConfirmModal(title=f"{title(params)}?",
                             consequence="\n".join(params.get("says", ())) or
                             "The VM keeps running.",
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
