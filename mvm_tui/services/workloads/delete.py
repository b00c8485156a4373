"""Deleting a VM as a Run (issue 17): marked deleted first, where HA looks right before any
restart (so a host lost during or after the delete never brings it back), its definition kept
beside the mark (for a restore), powered off, its definition removed from every host, its
disks moved to the pool's trash until an expiry.

Every step re-checks that the VM of that name is still the one the operator chose (its uuid):
a VM made since under the same name is never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.capabilities import Workloads
from mvm_tui.core.new_vm import seed_rbd
from mvm_tui.core.placement import LIVE
from mvm_tui.models import PowerAction, PowerState, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.workloads import workloads_of

KEEP_DAYS = 7  # how long a deleted VM's disks stay restorable in the trash


def delete_params(vm: Vm, pool: str, now: float, keep_days: int = KEEP_DAYS) -> dict[str, Any]:
    """The parameters of deleting `vm`: its RBD disks in `pool` go to the trash; InvalidState
    when it has a disk elsewhere (it would be left behind, unsaid)."""
    if not 1 <= keep_days <= 365:
        raise InvalidState(f"keep days: {keep_days} is not from 1 to 365")
    prefix = f"rbd:{pool}/"
    disks = [d.source.removeprefix(prefix) for d in vm.disks if d.source.startswith(prefix)]
    if seed_rbd(vm.name) not in disks:  # (a CD-ROM: not among the inventory's disks)
        disks.append(seed_rbd(vm.name))  # moved if there
    others = [d.source for d in vm.disks if not d.source.startswith(prefix)]
    if others:
        raise InvalidState(f"{vm.name} has disks outside the pool {pool} ({', '.join(others)}): "
                           "only RBD images of the pool go to the trash; not deleted")
    expires = datetime.fromtimestamp(now, UTC) + timedelta(days=keep_days)
    return {"vm": vm.name, "uuid": vm.uuid, "host": vm.host, "disks": disks,
            "expires": expires.strftime("%Y-%m-%dT%H:%M:%S")}


def delete_steps(backend: ClusterBackend, params: Mapping[str, Any]) -> Sequence[Step]:
    return DeleteRun(backend, workloads_of(backend, "delete VMs"), params).steps()


class DeleteRun:
    def __init__(self, backend: ClusterBackend, workloads: Workloads,
                 params: Mapping[str, Any]) -> None:
        self.backend, self.w = backend, workloads
        self.vm, self.uuid = str(params["vm"]), str(params["uuid"])
        self.disks: list[str] = list(params["disks"])
        self.expires, self.host = str(params["expires"]), params.get("host") or "its host"

    def steps(self) -> list[Step]:
        vm, w = self.vm, self.w
        stub = Vm(name=vm, uuid=self.uuid, host=self.host, power=PowerState.UNKNOWN, vcpus=0,
                  memory_mb=0)
        undefine = [c for h in self.backend.hosts for c in w.undefine_commands(h.name, vm)]
        trash = [c for d in self.disks for c in w.trash_commands(d, self.expires)]
        return [
            Step(f"Mark {vm} deleted, so HA never starts it again", tuple(w.mark_commands(vm)),
                 self.mark, self.marked),
            Step(f"Keep the definition of {vm}, for a restore",
                 tuple(w.keep_commands(self.host, vm)), self.keep, self.kept),
            Step(f"Power off {vm}", tuple(self.backend.power_commands(stub, PowerAction.POWEROFF)),
                 self.power_off, self.off),
            Step(f"Remove the definition of {vm} from every host", tuple(undefine),
                 self.undefine, self.undefined),
            Step(f"Move the disks of {vm} to the trash (restorable until {self.expires} UTC)",
                 tuple(trash), self.trash, self.trashed)]

    async def _same_vm(self) -> Vm | None:
        """The VM of that name now, if it is the one chosen; None when it is nowhere."""
        try:
            now = await self.backend.vm_info(self.vm)
        except NotFound:
            return None
        if now.uuid != self.uuid:
            raise InvalidState(f"the VM named {self.vm} now is another one (uuid {now.uuid}, "
                               f"not {self.uuid}): nothing of it is deleted")
        return now

    async def mark(self, ctx: StepContext) -> None:
        await self._same_vm()
        await self.w.mark_deleted(self.vm, self.uuid)
        ctx.log(f"{self.vm} (uuid {self.uuid}) marked deleted")

    async def marked(self, ctx: StepContext) -> bool:
        return await self.w.deleted(self.vm) == self.uuid

    async def keep(self, ctx: StepContext) -> None:
        now = await self._same_vm()
        if now is None or now.host is None:  # gone (a retry after the undefine)
            return
        await self.w.keep_definition(now.host, self.vm)
        ctx.log(f"the definition of {self.vm} kept beside its mark")

    async def kept(self, ctx: StepContext) -> bool:
        kept = await self.w.kept(self.vm)
        return kept is not None and kept.uuid == self.uuid

    async def power_off(self, ctx: StepContext) -> None:
        now = await self._same_vm()
        if now is not None and now.power in LIVE:
            await self.backend.vm_power(now, PowerAction.POWEROFF)
            ctx.log(f"{self.vm} powered off on {now.host}")

    async def off(self, ctx: StepContext) -> bool:
        now = await self._same_vm()
        return now is None or now.power not in LIVE

    async def undefine(self, ctx: StepContext) -> None:
        for host, uuid in (await self.w.defined(self.vm)).items():
            if uuid != self.uuid:
                raise InvalidState(f"{host} has another VM named {self.vm} (uuid {uuid}): "
                                   "left as it is")
            await self.w.undefine(host, self.vm)
            ctx.log(f"{self.vm} undefined on {host}")

    async def undefined(self, ctx: StepContext) -> bool:
        return self.uuid not in (await self.w.defined(self.vm)).values()

    async def trash(self, ctx: StepContext) -> None:
        for disk in self.disks:
            await self.w.trash(disk, self.expires)
            ctx.log(f"{disk}: in the trash until {self.expires} UTC")

    async def trashed(self, ctx: StepContext) -> bool:
        for disk in self.disks:
            if await self.w.disk_bytes(disk) is not None:
                return False
        return True
