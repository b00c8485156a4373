"""Cloning a stopped VM as a Run (issue 17): its disks deep-copied under the new name (a disk
cloned from a library image stays a copy-on-write clone of it), a seed of its own (the
source's users and keys, a new instance-id so cloud-init runs again, the clone's name, MACs
and address), its definition copied to a host with room, and, if asked, started.

Every step re-checks right before it acts: the source is still the VM chosen (its uuid) and
stopped (a running disk is not copied: it would be torn), and the new name is still free.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.capabilities import Workloads
from mvm_tui.core.cloud_init import StaticAddress, clone_seed
from mvm_tui.core.failover_plan import HaSettings
from mvm_tui.core.new_vm import disk_rbd, mac_for, seed_rbd
from mvm_tui.core.placement import LIVE, room_left
from mvm_tui.core.plans import Size, choose_host
from mvm_tui.core.vm_change import VmShape
from mvm_tui.models import ClusterSnapshot, PowerState, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.seed_iso import seed_files_of, seed_iso
from mvm_tui.services.workloads import check_free_name, start_step, workloads_of


def clone_params(source: Vm, shape: VmShape, name: str, snap: ClusterSnapshot,
                 settings: HaSettings, *, host: str | None = None, start: bool = False,
                 address: str | None = None, gateway: str = "",
                 dns: tuple[str, ...] = (), snapshot: str | None = None) -> dict[str, Any]:
    """The parameters of cloning `source` (its `shape` read now) as `name`, as it is or as its
    `snapshot` was (the caller checked it has it); ValueError or InvalidState saying why it
    cannot be (nothing is done)."""
    check_free_name(name, snap)
    if source.power in LIVE and snapshot is None:
        raise InvalidState(f"{source.name} is {source.power.value}: shut it down first (a "
                           "running VM's disks are not copied)")
    if source.host is None:
        raise InvalidState(f"{source.name} is on no host")
    disks = [d.image for d in shape.disks if d.image and not d.cdrom]
    renames = {image: disk_rbd(name, i) for i, image in enumerate(disks)}
    if any(d.image == seed_rbd(source.name) for d in shape.disks):
        renames[seed_rbd(source.name)] = seed_rbd(name)
    chosen, why = choose_host(Size(shape.next_vcpus, shape.next_memory_mb), snap, settings,
                              host=host)
    if chosen is None:
        raise InvalidState(f"{name} has nowhere to go: {why}")
    new_uuid = str(uuid.uuid4())
    return {"source": source.name, "source_uuid": source.uuid, "source_host": source.host,
            "name": name, "uuid": new_uuid, "host": chosen, "renames": renames,
            "macs": [mac_for(new_uuid, i) for i in range(len(shape.nics))],
            "vcpus": shape.next_vcpus, "memory_mb": shape.next_memory_mb, "start": start,
            "snapshot": snapshot,
            "static": None if address is None else
            {"address": address, "gateway": gateway, "dns": list(dns)}}


def clone_steps(backend: ClusterBackend, settings: HaSettings,
                params: Mapping[str, Any]) -> Sequence[Step]:
    return CloneRun(backend, workloads_of(backend, "clone VMs"), settings, params).steps()


class CloneRun:
    def __init__(self, backend: ClusterBackend, workloads: Workloads, settings: HaSettings,
                 params: Mapping[str, Any]) -> None:
        self.backend, self.w, self.settings, self.p = backend, workloads, settings, params
        self.source, self.name = str(params["source"]), str(params["name"])
        self.renames: dict[str, str] = dict(params["renames"])
        self.seed = seed_rbd(self.source) in self.renames
        self.snapshot: str | None = params.get("snapshot")  # copied as it was then
        self._seed: bytes | None = None

    def steps(self) -> list[Step]:
        p, w, name = self.p, self.w, self.name
        disks = {i: n for i, n in self.renames.items() if i != seed_rbd(self.source)}
        at = f" at its snapshot {self.snapshot}" if self.snapshot else ""
        steps = [Step(f"Copy the disks of {self.source}{at} as {name}'s",
                      tuple(c for i, n in disks.items()
                            for c in w.copy_disk_commands(self._from(i), n)),
                      self.copy, self.copied)]
        if self.seed:
            steps.append(Step(f"Write {name}'s cloud-init seed (from {self.source}'s: a new "
                              "instance-id, its name, MACs and address)",
                              tuple(w.seed_commands(seed_rbd(name))), self.write_seed,
                              self.seed_written))
        steps.append(Step(f"Define {name} on {p['host']}", tuple(w.define_copy_commands(
            p["host"], p["source_host"], self.source, name)), self.define, self.defined))
        if p["start"]:
            vm = Vm(name=name, uuid=p["uuid"], host=p["host"], power=PowerState.SHUTOFF,
                    vcpus=p["vcpus"], memory_mb=p["memory_mb"])
            steps.append(start_step(self.backend, vm, self.room))
        return steps

    async def _guard(self) -> Vm:
        """The source as it is now, checked: the VM chosen, stopped; the new name free."""
        try:
            source = await self.backend.vm_info(self.source)
        except NotFound:
            raise InvalidState(f"{self.source} is on no host any more: not cloned") from None
        if source.uuid != self.p["source_uuid"]:
            raise InvalidState(f"the VM named {self.source} now is another one: not cloned")
        if self.snapshot is not None:
            await self._snapshot_there(source)
        elif source.power in LIVE:
            raise InvalidState(f"{self.source} is {source.power.value}: a running VM's disks "
                               "are not copied; nothing more is done")
        other = [h for h, u in (await self.w.defined(self.name)).items()
                 if u != self.p["uuid"]]
        if other:
            raise InvalidState(f"a VM named {self.name} is defined on {', '.join(other)}: "
                               "nothing more is made")
        return source

    async def _snapshot_there(self, source: Vm) -> None:
        snapshots = self.backend.snapshots()
        disks = [i for i in self.renames if i != seed_rbd(self.source)]
        have = [] if snapshots is None or source.host is None else [
            s for s in await snapshots.snapshots(source.host, self.source, disks)
            if s.name == self.snapshot and s.complete]
        if not have:
            raise InvalidState(f"{self.source} has no complete snapshot {self.snapshot} any "
                               "more: not cloned")

    def _from(self, image: str) -> str:
        """What a disk is copied from: the image, or its snapshot."""
        return f"{image}@{self.snapshot}" if self.snapshot else image

    async def copy(self, ctx: StepContext) -> None:
        await self._guard()
        for image, new in self.renames.items():
            if image != seed_rbd(self.source):
                await self.w.copy_disk(self._from(image), new)
                ctx.log(f"{self._from(image)} copied as {new}")

    async def copied(self, ctx: StepContext) -> bool:
        for image, new in self.renames.items():
            if image != seed_rbd(self.source) and await self.w.disk_bytes(new) is None:
                return False
        return True

    async def _new_seed(self) -> bytes:
        if self._seed is None:
            image = await self.w.read_seed(seed_rbd(self.source))
            if image is None:
                raise InvalidState(f"{self.source} has no seed any more: not cloned")
            s = self.p["static"]
            static = None if s is None else StaticAddress(s["address"], s["gateway"],
                                                          tuple(s["dns"]))
            try:
                files = clone_seed(seed_files_of(image), self.p["uuid"], self.name,
                                   list(self.p["macs"]), static)
            except ValueError as exc:
                raise InvalidState(f"{self.source}: {exc}") from None
            self._seed = seed_iso(files)
        return self._seed

    async def write_seed(self, ctx: StepContext) -> None:
        await self._guard()
        data = await self._new_seed()
        await self.w.write_seed(seed_rbd(self.name), data)
        ctx.log(f"{seed_rbd(self.name)}: {len(data)} bytes, instance-id {self.p['uuid']}")

    async def seed_written(self, ctx: StepContext) -> bool:
        return await self.w.disk_bytes(seed_rbd(self.name)) == len(await self._new_seed())

    async def define(self, ctx: StepContext) -> None:
        await self._guard()
        host = self.p["host"]
        if self.p["start"]:
            await self.room(ctx)
        await self.w.define_copy(host, self.p["source_host"], self.source, self.name,
                                 self.p["uuid"], self.renames, list(self.p["macs"]))
        ctx.log(f"{self.name} defined on {host} (uuid {self.p['uuid']})")

    async def defined(self, ctx: StepContext) -> bool:
        return (await self.w.defined(self.name)).get(self.p["host"]) == str(self.p["uuid"])

    async def room(self, ctx: StepContext) -> None:
        """Room for it on its host now (a fresh poll), to start it."""
        host = self.p["host"]
        why = room_left(await self.backend.poll_host(host), host,
                        (self.p["memory_mb"], self.p["vcpus"]), self.settings.limits)
        if why:
            raise InvalidState(f"{self.name} is not started there: {why}")
