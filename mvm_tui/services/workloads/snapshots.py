"""Snapshots of a VM (issue 19), each action a Run: take (all its RBD disks at one instant,
its filesystems frozen through its agent when it answers), revert (the VM shut off, checked
right before the disks roll back), delete. Every step re-checks, right before it acts, that the
VM is still the one chosen (its uuid, on its host) and what the action needs."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Literal

from mvm_tui.backends.base import ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.capabilities import CONSISTENCY, GroupMember, Snapshots, VmSnapshot
from mvm_tui.core.placement import LIVE
from mvm_tui.core.vm_change import VmShape
from mvm_tui.models import PowerState, Vm
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets

Action = Literal["take", "revert", "delete"]
ACTIONS: tuple[Action, ...] = ("take", "revert", "delete")
KINDS = {"take": "vm.snapshot", "revert": "vm.snapshot_revert", "delete": "vm.snapshot_delete"}
GROUP_KIND = "vm.snapshot_group"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def default_name(now: float) -> str:
    return time.strftime("snap-%Y%m%d-%H%M%S", time.gmtime(now))


def disk_images(shape: VmShape) -> list[str]:
    """The VM's disks a snapshot covers: its RBD images (not its seed CD-ROM)."""
    return [d.image for d in shape.disks if d.image and not d.cdrom]


def snapshots_of(backend: ClusterBackend) -> Snapshots:
    s = backend.snapshots()
    if s is None:
        raise InvalidState(f"cluster {backend.name} has no VM snapshots (HCI clusters only)")
    return s


class SnapshotRuns:
    """The snapshot actions of one cluster: their params, previews and runs."""

    def __init__(self, executor: RunExecutor, prefix: str, backend: ClusterBackend) -> None:
        self.executor, self.prefix, self.backend = executor, prefix, backend
        for action in ACTIONS:
            executor.register(prefix + KINDS[action], partial(self._steps, action))
        executor.register(prefix + GROUP_KIND, self._group_steps)

    async def _shape(self, host: str, vm: str) -> VmShape:
        w = self.backend.workloads()
        if w is None:
            raise InvalidState(f"cluster {self.backend.name} has no VM snapshots (HCI clusters "
                               "only)")
        return await w.shape(host, vm)

    async def of(self, vm: Vm) -> list[VmSnapshot]:
        host = _host(vm)
        images = disk_images(await self._shape(host, vm.name))
        if not images:
            return []
        return await snapshots_of(self.backend).snapshots(host, vm.name, images)

    async def params(self, action: Action, vm: Vm, name: str) -> dict[str, Any]:
        """What a run of `action` on `vm`'s snapshot `name` needs; ValueError or InvalidState
        saying why not (nothing is done)."""
        host = _host(vm)
        images = disk_images(await self._shape(host, vm.name))
        if not images:
            raise InvalidState(f"{vm.name} has no RBD disk to snapshot")
        known = {s.name: s for s in await snapshots_of(self.backend).snapshots(
            host, vm.name, images)}
        if action == "take":
            if not NAME.fullmatch(name):
                raise ValueError("a snapshot's name: letters, digits, '.', '_', '-' (up to "
                                 "64), starting with a letter or digit")
            if name in known:
                raise ValueError(f"{vm.name} has a snapshot named {name} already")
        elif name not in known:
            raise ValueError(f"{vm.name} has no snapshot named {name}")
        elif action == "revert" and not known[name].complete:
            raise InvalidState(f"{name} is on only some disks of {vm.name} "
                               f"({', '.join(known[name].disks)}): it cannot be reverted to")
        if action == "revert" and vm.power is not PowerState.SHUTOFF:
            raise InvalidState(f"{vm.name} is {vm.power.value}: shut it down before its disks "
                               "go back to a snapshot")
        return {"vm": vm.name, "uuid": vm.uuid, "host": host, "images": images, "name": name,
                "running": vm.power in LIVE}

    def preview(self, action: Action, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self.prefix + KINDS[action], params)

    def create_run(self, action: Action, params: Mapping[str, Any]) -> RunRecord:
        what = {"take": "Snapshot", "revert": "Revert", "delete": "Delete the snapshot"}[action]
        title = (f"{what} {params['vm']} ({params['name']})" if action == "take"
                 else f"{what} {params['vm']} to {params['name']}" if action == "revert"
                 else f"{what} {params['name']} of {params['vm']}")
        return self.executor.create(self.prefix + KINDS[action], title, params,
                                    Targets(cluster=self.backend.name, host=params["host"],
                                            vm=params["vm"]))

    def _steps(self, action: Action, params: Mapping[str, Any]) -> Sequence[Step]:
        return SnapshotRun(self.backend, snapshots_of(self.backend), params).steps(action)

    async def group_params(self, vms: Sequence[Vm], name: str) -> dict[str, Any]:
        """A snapshot `name` of several VMs at one instant; ValueError or InvalidState saying
        why not (nothing is done)."""
        names = [vm.name for vm in vms]
        if len(set(names)) < 2:
            raise ValueError("a group snapshot is of two VMs or more")
        if len(set(names)) != len(names):
            raise ValueError("a VM is named twice")
        if not NAME.fullmatch(name):
            raise ValueError("a snapshot's name: letters, digits, '.', '_', '-' (up to 64), "
                             "starting with a letter or digit")
        members = []
        for vm in vms:
            host = _host(vm)
            images = disk_images(await self._shape(host, vm.name))
            if not images:
                raise InvalidState(f"{vm.name} has no RBD disk to snapshot")
            if any(s.name == name for s in await snapshots_of(self.backend).snapshots(
                    host, vm.name, images)):
                raise ValueError(f"{vm.name} has a snapshot named {name} already")
            members.append({"vm": vm.name, "uuid": vm.uuid, "host": host, "images": images})
        return {"name": name, "members": members}

    def group_preview(self, params: Mapping[str, Any]) -> list[Step]:
        return self.executor.preview(self.prefix + GROUP_KIND, params)

    def create_group_run(self, params: Mapping[str, Any]) -> RunRecord:
        vms = ", ".join(m["vm"] for m in params["members"])
        return self.executor.create(self.prefix + GROUP_KIND,
                                    f"Snapshot {vms} at one instant ({params['name']})",
                                    params, Targets(cluster=self.backend.name))

    def _group_steps(self, params: Mapping[str, Any]) -> Sequence[Step]:
        return GroupRun(self.backend, snapshots_of(self.backend), params).steps()


def _host(vm: Vm) -> str:
    if vm.host is None:
        raise InvalidState(f"{vm.name} is on no host")
    return vm.host


class SnapshotRun:
    def __init__(self, backend: ClusterBackend, snapshots: Snapshots,
                 params: Mapping[str, Any]) -> None:
        self.backend, self.s = backend, snapshots
        self.vm, self.uuid, self.host = str(params["vm"]), str(params["uuid"]), str(params["host"])
        self.images: list[str] = list(params["images"])
        self.name = str(params["name"])
        self.running = bool(params.get("running", False))

    def steps(self, action: Action) -> list[Step]:
        s, at = self.s, (self.host, self.vm, self.images, self.name)
        disks = f"{len(self.images)} disk{'s' if len(self.images) != 1 else ''}"
        if action == "take":
            return [Step(f"Snapshot {self.name} of {self.vm} ({disks})",
                         tuple(s.take_commands(*at, self.running)), self.take, self.taken)]
        if action == "revert":
            return [Step(f"Roll the {disks} of {self.vm} back to {self.name}",
                         tuple(s.revert_commands(*at)), self.revert, self.reverted)]
        return [Step(f"Delete the snapshot {self.name} of {self.vm}",
                     tuple(s.delete_commands(*at)), self.delete, self.deleted)]

    async def chosen_vm(self) -> Vm:
        """The VM chosen, as it is now, on its host (its uuid)."""
        try:
            vm = await self.backend.vm_info(self.vm)
        except NotFound:
            raise InvalidState(f"{self.vm} no longer exists: nothing is done") from None
        if vm.uuid != self.uuid or vm.host != self.host:
            raise InvalidState(f"{self.vm} is not the VM chosen (uuid {self.uuid} on "
                               f"{self.host}) any more: nothing is done")
        return vm

    async def found(self) -> VmSnapshot | None:
        found = [x for x in await self.s.snapshots(self.host, self.vm, self.images)
                 if x.name == self.name]
        return found[0] if found else None

    async def take(self, ctx: StepContext) -> None:
        vm = await self.chosen_vm()
        half = await self.found()  # (complete: the check found it and this is not run)
        if half is not None:  # a take cut short before (this run's: the name was free then)
            await self.s.delete(self.host, self.vm, self.images, self.name)
            ctx.log(f"the snapshot {self.name} left on {', '.join(half.disks)} by an earlier "
                    "attempt removed: taken again")
        running = vm.power in LIVE  # (as it is now, not as it was when the plan was shown)
        if running != self.running:
            ctx.log(f"{self.vm} is {vm.power.value} now: snapshotted as such")
        consistency = await self.s.take(self.host, self.vm, self.images, self.name, running)
        ctx.remember("consistency", consistency)
        ctx.log(f"snapshot {self.name} of {self.vm}: {CONSISTENCY.get(consistency, consistency)}")

    async def taken(self, ctx: StepContext) -> bool:
        have = await self.found()
        return have is not None and have.complete

    async def revert(self, ctx: StepContext) -> None:
        vm = await self.chosen_vm()
        if vm.power is not PowerState.SHUTOFF:
            raise InvalidState(f"{self.vm} is {vm.power.value}: its disks are not rolled back "
                               "while it runs")
        have = await self.found()
        if have is None or not have.complete:
            raise InvalidState(f"{self.vm} has no complete snapshot {self.name}: nothing is "
                               "rolled back")
        await self.s.revert(self.host, self.vm, self.images, self.name)
        ctx.remember("reverted", True)
        ctx.log(f"{self.vm}'s disks are as they were at {self.name}")

    async def reverted(self, ctx: StepContext) -> bool:
        return bool(ctx.recall("reverted"))  # (a rollback is done again after a crash)

    async def delete(self, ctx: StepContext) -> None:
        await self.chosen_vm()
        await self.s.delete(self.host, self.vm, self.images, self.name)
        ctx.log(f"snapshot {self.name} of {self.vm} deleted")

    async def deleted(self, ctx: StepContext) -> bool:
        return await self.found() is None


class GroupRun:
    """A snapshot of several VMs at one instant (Snapshots.take_group)."""

    def __init__(self, backend: ClusterBackend, snapshots: Snapshots,
                 params: Mapping[str, Any]) -> None:
        self.name = str(params["name"])
        self.runs = [SnapshotRun(backend, snapshots, {**m, "name": self.name})
                     for m in params["members"]]
        self.members = [GroupMember(r.host, r.vm, tuple(r.images)) for r in self.runs]
        self.s = snapshots

    def steps(self) -> list[Step]:
        return [Step(f"Snapshot {self.name} of {len(self.members)} VMs at one instant",
                     tuple(self.s.group_commands(self.members, self.name)), self.take,
                     self.taken)]

    async def take(self, ctx: StepContext) -> None:
        for run in self.runs:
            await run.chosen_vm()  # (each still the VM chosen, on its host)
            half = await run.found()
            if half is not None:  # (an earlier attempt of this run, cut short)
                await self.s.delete(run.host, run.vm, run.images, self.name)
                ctx.log(f"the snapshot {self.name} of {run.vm} left by an earlier attempt "
                        "removed")
        how = await self.s.take_group(self.members, self.name)
        ctx.remember("consistency", how)
        for vm, consistency in how.items():
            ctx.log(f"{vm}: {CONSISTENCY.get(consistency, consistency)}")

    async def taken(self, ctx: StepContext) -> bool:
        for run in self.runs:
            have = await run.found()
            if have is None or not have.complete:
                return False
        return True
