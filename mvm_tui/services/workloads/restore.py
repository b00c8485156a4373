"""Restoring a deleted VM as a Run (issue 17): its disks and seed back from the pool's trash,
its deletion mark cleared, the definition its delete kept defined on a host with room, and
(if asked) started.

Every step re-checks right before it acts that the name is still free in the cluster (a VM
made since under that name is never replaced) and that the kept definition is still the one
chosen (its uuid); the definition step re-checks the host's room when it will be started.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState
from mvm_tui.backends.capabilities import KeptVm, Workloads
from mvm_tui.core.failover_plan import HaSettings
from mvm_tui.core.placement import room_left
from mvm_tui.core.plans import Size, choose_host
from mvm_tui.models import ClusterSnapshot, PowerState, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.workloads import start_step, workloads_of


def restore_params(vm: str, kept: KeptVm | None, defined: Mapping[str, str],
                   snap: ClusterSnapshot, settings: HaSettings, host: str | None = None,
                   start: bool = False) -> dict[str, Any]:
    """The parameters of restoring the deleted VM `vm` (what its delete `kept`; `defined`:
    the hosts that have a VM of that name now); InvalidState saying why when it cannot be
    (nothing is done)."""
    if kept is None:
        raise InvalidState(f"no deleted VM named {vm} is kept in the cluster")
    if defined:
        raise InvalidState(f"a VM named {vm} is on {', '.join(sorted(defined))}: not restored "
                           "over it")
    chosen, why = choose_host(Size(kept.vcpus, kept.memory_mb), snap, settings, host=host)
    if chosen is None:
        raise InvalidState(f"{vm} has nowhere to go: {why}")
    return {"vm": vm, "uuid": kept.uuid, "host": chosen, "images": list(kept.images),
            "vcpus": kept.vcpus, "memory_mb": kept.memory_mb, "start": start}


def restore_steps(backend: ClusterBackend, snapshot: Callable[[], ClusterSnapshot],
                  settings: HaSettings, params: Mapping[str, Any]) -> Sequence[Step]:
    return RestoreRun(backend, workloads_of(backend, "restore VMs"), settings, params).steps()


class RestoreRun:
    def __init__(self, backend: ClusterBackend, workloads: Workloads, settings: HaSettings,
                 params: Mapping[str, Any]) -> None:
        self.backend, self.w, self.settings = backend, workloads, settings
        self.vm, self.uuid, self.host = str(params["vm"]), str(params["uuid"]), params["host"]
        self.images: list[str] = list(params["images"])
        self.size = (int(params["memory_mb"]), int(params["vcpus"]))
        self.start = bool(params["start"])

    def steps(self) -> list[Step]:
        vm, w = self.vm, self.w
        steps = [
            Step(f"Bring the disks of {vm} back from the trash",
                 tuple(c for i in self.images for c in w.untrash_commands(i)),
                 self.untrash, self.untrashed),
            Step(f"Clear the deletion mark of {vm}", tuple(w.mark_commands(vm)),
                 self.unmark, self.unmarked),
            Step(f"Define {vm} on {self.host}", tuple(w.define_kept_commands(self.host, vm)),
                 self.define, self.defined)]
        if self.start:
            shape = Vm(name=vm, uuid=self.uuid, host=self.host, power=PowerState.SHUTOFF,
                       vcpus=self.size[1], memory_mb=self.size[0])
            steps.append(start_step(self.backend, shape, self.room))
        return steps

    async def _still_free(self) -> None:
        """The name is free but for this restore's own definition, and what is kept is the
        VM chosen."""
        other = [h for h, u in (await self.w.defined(self.vm)).items() if u != self.uuid]
        if other:
            raise InvalidState(f"a VM named {self.vm} is defined on {', '.join(other)} now: "
                               "not restored over it")
        kept = await self.w.kept(self.vm)
        if kept is None or kept.uuid != self.uuid:
            raise InvalidState(f"the definition kept for {self.vm} is not the one chosen "
                               f"(uuid {self.uuid}) any more: nothing more is done")

    async def untrash(self, ctx: StepContext) -> None:
        await self._still_free()
        for image in self.images:
            await self.w.untrash(image)
            ctx.log(f"{image}: back in the pool")

    async def untrashed(self, ctx: StepContext) -> bool:
        for image in self.images:
            if await self.w.disk_bytes(image) is None:
                return False
        return True

    async def unmark(self, ctx: StepContext) -> None:
        await self._still_free()
        await self.w.unmark_deleted(self.vm)
        ctx.log(f"{self.vm} is no longer marked deleted: HA looks after it again")

    async def unmarked(self, ctx: StepContext) -> bool:
        return await self.w.deleted(self.vm) is None

    async def define(self, ctx: StepContext) -> None:
        await self._still_free()
        if self.start:
            await self.room(ctx)
        await self.w.define_kept(self.host, self.vm)
        await self.w.forget_kept(self.vm)  # (restored: no longer among the deleted VMs)
        ctx.log(f"{self.vm} defined on {self.host} (uuid {self.uuid}), as it was deleted")

    async def defined(self, ctx: StepContext) -> bool:
        return (await self.w.defined(self.vm)).get(self.host) == self.uuid

    async def room(self, ctx: StepContext) -> None:
        """Room for it on its host now (a fresh poll), to start it."""
        why = room_left(await self.backend.poll_host(self.host), self.host, self.size,
                        self.settings.limits)
        if why:
            raise InvalidState(f"{self.vm} is not started there: {why}")
