"""Changing a VM as a Run (issue 17): its size (live within its maximums, else at its next
boot: core/vm_change.py), a disk added, grown or removed (to the trash), a NIC added or
removed.

The change is planned against the VM's shape when the run is made (`change_params`); every
step re-checks right before it acts, on a first run, a retry and a resume alike: the VM of that
name is still the one chosen (its uuid), on whichever host it runs now; a growth still has room
on that host (a fresh poll) and keeps the failover reserve (unless overridden); a disk goes to
the trash only once the VM no longer has it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.capabilities import Workloads
from mvm_tui.core import vm_change
from mvm_tui.core.failover_plan import HaSettings
from mvm_tui.core.placement import room_left
from mvm_tui.core.plans import Size, growth_breaks
from mvm_tui.core.vm_change import VmShape
from mvm_tui.models import ClusterSnapshot, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.services.workloads import workloads_of
from mvm_tui.units import count

DETACH_TIMEOUT_S = 60.0  # for the guest to let a device go (ACPI unplug)
GB = 2**30
KINDS = ("resize", "disk-add", "disk-grow", "disk-remove", "nic-add", "nic-remove")


def change_params(vm: Vm, shape: VmShape, change: Mapping[str, Any], *, pool: str,
                  vlans: tuple[int, ...], now: float, offload: bool = True,
                  disk_bytes: int | None = None) -> dict[str, Any]:
    """The parameters of the run that makes `change` ({"kind": ..., its values}) to `vm`,
    whose shape is `shape`; ValueError saying what is wrong (nothing is done). `disk_bytes`:
    the size now of the disk a growth is about."""
    kind = change.get("kind")
    base: dict[str, Any] = {"vm": vm.name, "uuid": vm.uuid, "host": vm.host, "kind": kind}
    if kind == "resize":
        vcpus, memory = change.get("vcpus"), change.get("memory_mb")  # None: as at next boot
        plan = vm_change.plan_resize(shape, shape.next_vcpus if vcpus is None else int(vcpus),
                                     shape.next_memory_mb if memory is None else int(memory))
        return {**base, "running": shape.running, "vcpus": plan.vcpus, "memory_mb": plan.memory_mb,
                "vcpus_live": plan.vcpus_live, "plug_mb": plan.plug_mb,
                "next_boot": plan.next_boot, "says": list(plan.says),
                "allow_reserve_break": bool(change.get("allow_reserve_break", False))}
    if kind == "disk-add":
        size = _size(change)
        image, target = vm_change.next_disk(shape, vm.name)
        return {**base, "image": image, "target": target, "size_gb": size}
    if kind == "disk-grow":
        disk = vm_change.find_disk(shape, str(change["disk"]))
        size = _size(change)
        if not disk.image:
            raise ValueError(f"{disk.target} is not an RBD image of the pool {pool}")
        if disk_bytes is not None and size * GB <= disk_bytes:
            raise ValueError(f"{disk.target} is {disk_bytes / GB:g} GiB already: a disk only "
                             "grows")
        return {**base, "image": disk.image, "target": disk.target, "size_gb": size}
    if kind == "disk-remove":
        disk = vm_change.removable_disk(shape, vm.name, str(change["disk"]))
        keep = int(change.get("keep_days", 7))
        if not 1 <= keep <= 365:
            raise ValueError(f"keep days: {keep} is not from 1 to 365")
        expires = datetime.fromtimestamp(now, UTC) + timedelta(days=keep)
        return {**base, "image": disk.image, "target": disk.target,
                "expires": expires.strftime("%Y-%m-%dT%H:%M:%S")}
    if kind == "nic-add":
        vlan = int(change["vlan"])
        if vlans and vlan not in vlans:
            raise ValueError(f"VLAN {vlan} is not one of the cluster's compute VLANs "
                             f"({', '.join(map(str, vlans))})")
        if not 1 <= vlan <= 4094:
            raise ValueError(f"{vlan} is not a VLAN id (1-4094)")
        return {**base, "vlan": vlan, "mac": vm_change.next_mac(shape, vm.uuid),
                "offload": offload}
    if kind == "nic-remove":
        return {**base, "mac": vm_change.find_nic(shape, str(change["nic"])).mac}
    raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")


async def growth_refusal(backend: ClusterBackend, snap: ClusterSnapshot, settings: HaSettings,
                         vm: str, host: str, shape: VmShape, p: Mapping[str, Any]) -> str:
    """Why a resize to p["vcpus"], p["memory_mb"] is refused now ("" when it is not): the
    room its growth needs on its host (a fresh poll), the failover reserve (unless
    p["allow_reserve_break"])."""
    vcpus, memory = int(p["vcpus"]), int(p["memory_mb"])
    more_cpus, more_mb = vm_change.growth(shape, vcpus, memory)
    if not (more_cpus or more_mb):
        return ""
    why = room_left(await backend.poll_host(host), host, (more_mb, more_cpus), settings.limits)
    if why:
        return f"{vm} is not grown: {why}"
    if not p.get("allow_reserve_break"):
        short = growth_breaks(vm, Size(vcpus, memory), snap, settings)
        if short:
            return (f"{vm} is not grown: it would leave VMs without room if "
                    f"{', '.join(short)} were lost (the failover reserve); override it "
                    "knowingly to grow it all the same")
    return ""


def _size(change: Mapping[str, Any]) -> int:
    size = int(change["size_gb"])
    if not 1 <= size <= 65536:
        raise ValueError(f"size: {size} GiB is not from 1 GiB to 64 TiB")
    return size


def title(params: Mapping[str, Any]) -> str:
    vm, kind = params["vm"], params["kind"]
    titles: dict[str, str] = {"resize": f"Resize {vm} to "
                      f"{count(int(params.get('vcpus') or 0), 'vCPU')}, "
                      f"{params.get('memory_mb')} MiB",
            "disk-add": f"Add a {params.get('size_gb')} GiB disk to {vm}",
            "disk-grow": f"Grow {params.get('target')} of {vm} to {params.get('size_gb')} GiB",
            "disk-remove": f"Remove {params.get('target')} from {vm}",
            "nic-add": f"Add a NIC on VLAN {params.get('vlan')} to {vm}",
            "nic-remove": f"Remove the NIC {params.get('mac')} from {vm}"}
    return titles.get(kind, str(vm))


def consequence(params: Mapping[str, Any]) -> str:
    """What the change does to the VM, for its confirmation."""
    kind = params["kind"]
    if kind == "resize":
        return "\n".join(params.get("says", ()))
    return {
        "disk-add": "An empty RBD image, attached while it runs (or to its definition).",
        "disk-grow": "The image grows and a running guest is told; growing the partition and "
                     "filesystem inside the guest is left to it.",
        "disk-remove": "Detached once the guest lets it go (libvirt's device-removed event "
                       "says so); its image goes to the trash, restorable until "
                       f"{params.get('expires')} UTC.",
        "nic-add": "Attached while it runs; the guest configures it.",
        "nic-remove": "Detached once the guest lets it go.",
    }.get(kind, "")


def change_steps(backend: ClusterBackend, snapshot: Callable[[], ClusterSnapshot],
                 settings: HaSettings, vm_changed: Callable[[Vm], None],
                 params: Mapping[str, Any]) -> Sequence[Step]:
    return ChangeRun(backend, workloads_of(backend, "change VMs"), snapshot, settings,
                     vm_changed, params).steps()


class ChangeRun:
    def __init__(self, backend: ClusterBackend, workloads: Workloads,
                 snapshot: Callable[[], ClusterSnapshot], settings: HaSettings,
                 vm_changed: Callable[[Vm], None], params: Mapping[str, Any]) -> None:
        self.backend, self.w, self.snapshot, self.settings = backend, workloads, snapshot, settings
        self.vm_changed = vm_changed  # the inventory shows a change at once
        self.p = params
        self.vm, self.uuid = str(params["vm"]), str(params["uuid"])
        self.host = str(params.get("host") or "its host")

    def steps(self) -> list[Step]:
        p, w, vm, host = self.p, self.w, self.vm, self.host
        kind = p["kind"]
        if kind == "resize":
            return self._resize_steps()
        if kind == "disk-add":
            return [Step(f"Make the disk {p['image']}, {p['size_gb']} GiB, empty",
                         tuple(w.volume_commands(p["image"], p["size_gb"])),
                         self.make_disk, self.disk_made),
                    Step(f"Attach {p['image']} to {vm} as {p['target']}",
                         tuple(w.attach_disk_commands(host, vm, p["image"], p["target"])),
                         self.attach_disk, self.disk_attached)]
        if kind == "disk-grow":
            return [Step(f"Grow {p['target']} of {vm} ({p['image']}) to {p['size_gb']} GiB",
                         tuple(w.grow_commands(host, vm, p["image"], p["target"],
                                               p["size_gb"])), self.grow, self.grown)]
        if kind == "disk-remove":
            return [Step(f"Detach {p['target']} ({p['image']}) from {vm}",
                         tuple(w.detach_commands(host, vm, p["target"])),
                         self.detach, self.detached),
                    Step(f"Move {p['image']} to the trash (restorable until {p['expires']} "
                         "UTC)", tuple(w.trash_commands(p["image"], p["expires"])),
                         self.trash, self.trashed)]
        if kind == "nic-add":
            return [Step(f"Attach a NIC {p['mac']} on VLAN {p['vlan']} to {vm}",
                         tuple(w.attach_nic_commands(host, vm, p["mac"], p["vlan"],
                                                     p["offload"])),
                         self.attach_nic, self.nic_attached)]
        if kind == "nic-remove":
            return [Step(f"Detach the NIC {p['mac']} from {vm}",
                         tuple(w.detach_commands(host, vm, p["mac"])),
                         self.detach, self.detached)]
        raise InvalidState(f"unknown change {kind!r}")

    # -- where the VM is, and the guards

    async def _where(self) -> str:
        """The host the chosen VM is on now (it may have moved since the plan)."""
        try:
            now = await self.backend.vm_info(self.vm)
        except NotFound:
            raise InvalidState(f"{self.vm} is on no host any more: nothing is changed") from None
        if now.uuid != self.uuid:
            raise InvalidState(f"the VM named {self.vm} now is another one (uuid {now.uuid}, "
                               f"not {self.uuid}): nothing is changed")
        if now.host is None:
            raise InvalidState(f"{self.vm} is on no host: nothing is changed")
        return now.host

    async def _shape(self) -> tuple[str, VmShape]:
        host = await self._where()
        return host, await self.w.shape(host, self.vm)

    async def _seen(self) -> None:
        self.vm_changed(await self.backend.vm_info(self.vm))

    async def _room(self, host: str, shape: VmShape, ctx: StepContext) -> None:
        why = await growth_refusal(self.backend, self.snapshot(), self.settings, self.vm, host,
                                   shape, self.p)
        if why:
            raise InvalidState(why)
        ctx.log(f"{host} has room for {self.vm} at {self.p['memory_mb']} MiB and "
                f"{count(int(self.p['vcpus']), 'vCPU')} (and the failover reserve holds)")

    # -- resize

    def _resize_steps(self) -> list[Step]:
        p, w, vm, host = self.p, self.w, self.vm, self.host
        vcpus, memory = p["vcpus"], p["memory_mb"]
        steps = []
        if p["vcpus_live"]:
            steps.append(Step(f"Set the vCPUs of {vm} to {vcpus}, live",
                              tuple(w.vcpus_commands(host, vm, vcpus)),
                              self.set_vcpus, self.vcpus_set))
        if p["plug_mb"]:
            steps.append(Step(f"Add a {p['plug_mb']} MiB memory module to {vm}, live",
                              tuple(w.plug_commands(host, vm, p["plug_mb"])),
                              self.plug, self.plugged))
        if p["next_boot"]:
            when = "its next boot" if p.get("running", True) else "it is stopped"
            steps.append(Step(f"Write {count(vcpus, 'vCPU')} and {memory} MiB into the "
                              f"definition of {vm} ({when})",
                              tuple(w.next_boot_commands(host, vm, vcpus, memory)),
                              self.set_next_boot, self.next_boot_set))
        return steps

    async def _live(self, what: str) -> tuple[str, VmShape]:
        host, shape = await self._shape()
        if not shape.running:
            raise InvalidState(f"{self.vm} is not running any more: {what} is not done live; "
                               "plan the change again")
        return host, shape

    async def set_vcpus(self, ctx: StepContext) -> None:
        vcpus = int(self.p["vcpus"])
        host, shape = await self._live("the vCPU change")
        if shape.vcpus == vcpus:
            return
        await self._room(host, shape, ctx)
        await self.w.set_vcpus(host, self.vm, vcpus)
        await self._seen()
        ctx.log(f"{self.vm}: {shape.vcpus} -> {count(vcpus, 'vCPU')} on {host}")

    async def vcpus_set(self, ctx: StepContext) -> bool:
        return (await self._shape())[1].vcpus == int(self.p["vcpus"])

    async def plug(self, ctx: StepContext) -> None:
        memory, plug = int(self.p["memory_mb"]), int(self.p["plug_mb"])
        host, shape = await self._live("the memory module")
        if shape.memory_mb >= memory:
            return
        if shape.memory_mb + plug != memory:
            raise InvalidState(f"{self.vm} has {shape.memory_mb} MiB now, not "
                               f"{memory - plug}: plan the change again")
        await self._room(host, shape, ctx)
        await self.w.plug_memory(host, self.vm, plug)
        await self._seen()
        ctx.log(f"{self.vm}: a {plug} MiB module added on {host}")

    async def plugged(self, ctx: StepContext) -> bool:
        return (await self._shape())[1].memory_mb >= int(self.p["memory_mb"])

    async def set_next_boot(self, ctx: StepContext) -> None:
        host, shape = await self._shape()
        await self._room(host, shape, ctx)
        await self.w.set_next_boot(host, self.vm, int(self.p["vcpus"]),
                                   int(self.p["memory_mb"]))
        await self._seen()
        ctx.log(f"{self.vm}: pending restart (its next boot has the size)" if shape.running
                else f"{self.vm}: its definition has the size (it is stopped)")

    async def next_boot_set(self, ctx: StepContext) -> bool:
        shape = (await self._shape())[1]
        return (shape.next_vcpus, shape.next_memory_mb) == (
            int(self.p["vcpus"]), int(self.p["memory_mb"]))

    # -- disks

    async def make_disk(self, ctx: StepContext) -> None:
        await self._where()
        await self.w.make_volume(self.p["image"], int(self.p["size_gb"]))
        ctx.log(f"{self.p['image']}: {self.p['size_gb']} GiB, empty")

    async def disk_made(self, ctx: StepContext) -> bool:
        return (await self.w.disk_bytes(self.p["image"]) or 0) >= int(self.p["size_gb"]) * GB

    async def attach_disk(self, ctx: StepContext) -> None:
        image, target = self.p["image"], self.p["target"]
        host, shape = await self._shape()
        there = {d.target: d.image for d in shape.disks}
        if there.get(target) == image:
            return
        if target in there:
            raise InvalidState(f"{self.vm} has a disk {target} already ({there[target]}): "
                               "plan the change again")
        await self.w.attach_disk(host, self.vm, image, target)
        await self._seen()
        ctx.log(f"{image} attached to {self.vm} as {target} on {host}")

    async def disk_attached(self, ctx: StepContext) -> bool:
        shape = (await self._shape())[1]
        return any(d.target == self.p["target"] and d.image == self.p["image"]
                   for d in shape.disks)

    async def grow(self, ctx: StepContext) -> None:
        image, target, size = self.p["image"], self.p["target"], int(self.p["size_gb"])
        host, shape = await self._shape()
        if all(d.image != image or d.target != target for d in shape.disks):
            raise InvalidState(f"{self.vm} has no disk {target} of {image} any more: "
                               "nothing is grown")
        await self.w.grow(host, self.vm, image, target, size)
        await self._seen()
        ctx.log(f"{image}: {size} GiB" + (f"; the guest of {self.vm} told" if shape.running
                                           else ""))

    async def grown(self, ctx: StepContext) -> bool:
        return (await self.w.disk_bytes(self.p["image"]) or 0) >= int(self.p["size_gb"]) * GB

    async def detach(self, ctx: StepContext) -> None:
        device = self.p.get("mac") or self.p["target"]
        host = await self._where()
        await self.w.detach(host, self.vm, device, DETACH_TIMEOUT_S)
        await self._seen()
        ctx.log(f"{device} detached from {self.vm} on {host} (device-removed event seen, "
                "when it runs)")

    async def detached(self, ctx: StepContext) -> bool:
        shape = (await self._shape())[1]
        if self.p.get("mac"):
            return all(n.mac != self.p["mac"] for n in shape.nics)
        return all(d.target != self.p["target"] for d in shape.disks)

    async def trash(self, ctx: StepContext) -> None:
        shape = (await self._shape())[1]
        if any(d.image == self.p["image"] for d in shape.disks):
            raise InvalidState(f"{self.vm} has {self.p['image']} still: not moved to the trash")
        await self.w.trash(self.p["image"], self.p["expires"])
        ctx.log(f"{self.p['image']}: in the trash until {self.p['expires']} UTC")

    async def trashed(self, ctx: StepContext) -> bool:
        return await self.w.disk_bytes(self.p["image"]) is None

    # -- NICs

    async def attach_nic(self, ctx: StepContext) -> None:
        host, shape = await self._shape()
        if any(n.mac == self.p["mac"] for n in shape.nics):
            return
        await self.w.attach_nic(host, self.vm, self.p["mac"], int(self.p["vlan"]),
                                bool(self.p["offload"]))
        await self._seen()
        ctx.log(f"a NIC {self.p['mac']} on VLAN {self.p['vlan']} attached to {self.vm}")

    async def nic_attached(self, ctx: StepContext) -> bool:
        return any(n.mac == self.p["mac"] for n in (await self._shape())[1].nics)
