"""Renaming a stopped VM as a Run (issue 17): its RBD images (`vm.OLD.*` -> `vm.NEW.*`), then
its definition (`virsh domrename`, and its disks' new names; its uuid, MACs and seed stay).
Every step re-checks right before it acts that the VM is still the one chosen (its uuid) and
stopped, and that the new name is free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.capabilities import Workloads
from mvm_tui.core.placement import LIVE
from mvm_tui.core.vm_change import VmShape
from mvm_tui.models import ClusterSnapshot, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.workloads import check_free_name, workloads_of


def rename_vm_params(vm: Vm, shape: VmShape, new: str, snap: ClusterSnapshot) -> dict[str, Any]:
    check_free_name(new, snap, "new name")
    if vm.power in LIVE:
        raise InvalidState(f"{vm.name} is {vm.power.value}: shut it down first")
    prefix = f"vm.{vm.name}."
    renames = {d.image: f"vm.{new}." + d.image.removeprefix(prefix)
               for d in shape.disks if d.image.startswith(prefix)}
    return {"vm": vm.name, "uuid": vm.uuid, "host": vm.host, "new": new, "renames": renames}


def rename_vm_steps(backend: ClusterBackend, params: Mapping[str, Any]) -> Sequence[Step]:
    return RenameRun(backend, workloads_of(backend, "rename VMs"), params).steps()


class RenameRun:
    def __init__(self, backend: ClusterBackend, workloads: Workloads,
                 params: Mapping[str, Any]) -> None:
        self.backend, self.w = backend, workloads
        self.vm, self.uuid, self.new = str(params["vm"]), str(params["uuid"]), str(params["new"])
        self.host = str(params["host"])
        self.renames: dict[str, str] = dict(params["renames"])

    def steps(self) -> list[Step]:
        w = self.w
        return [Step(f"Rename the disks of {self.vm}",
                     tuple(c for d, n in self.renames.items()
                           for c in w.rename_disk_commands(d, n)),
                     self.rename_disks, self.disks_renamed),
                Step(f"Rename {self.vm} to {self.new} on {self.host}",
                     tuple(w.rename_vm_commands(self.host, self.vm, self.new)),
                     self.rename, self.renamed)]

    async def _guard(self) -> str:
        """The host of the VM chosen, stopped, under either name; the new name free."""
        where = {**(await self.w.defined(self.vm)), **(await self.w.defined(self.new))}
        hosts = [h for h, u in where.items() if u == self.uuid]
        others = [h for h, u in where.items() if u != self.uuid]
        if others:
            raise InvalidState(f"another VM named {self.vm} or {self.new} is on "
                               f"{', '.join(others)}: nothing more is done")
        if not hosts:
            raise InvalidState(f"{self.vm} (uuid {self.uuid}) is on no host: not renamed")
        for name in (self.vm, self.new):
            try:
                now = await self.backend.vm_info(name)
            except NotFound:
                continue
            if now.uuid == self.uuid and now.power in LIVE:
                raise InvalidState(f"{name} is {now.power.value}: not renamed while it runs")
        return hosts[0]

    async def rename_disks(self, ctx: StepContext) -> None:
        await self._guard()
        for disk, new in self.renames.items():
            await self.w.rename_disk(disk, new)
            ctx.log(f"{disk} is now {new}")

    async def disks_renamed(self, ctx: StepContext) -> bool:
        for new in self.renames.values():
            if await self.w.disk_bytes(new) is None:
                return False
        return True

    async def rename(self, ctx: StepContext) -> None:
        host = await self._guard()
        await self.w.rename_vm(host, self.vm, self.new, self.renames)
        ctx.log(f"{self.vm} is now {self.new} on {host} (uuid {self.uuid})")

    async def renamed(self, ctx: StepContext) -> bool:
        return self.uuid in (await self.w.defined(self.new)).values()
