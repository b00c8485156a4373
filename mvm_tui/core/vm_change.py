"""Changing a VM (issue 17): what can be done live and what waits for its next boot, and which
disk or NIC a change is about. Pure: the backends read a VM's shape, the runs act on a plan.

A VM made by mvm-tui has maximum vCPUs and hot-pluggable memory slots (core/vm_spec.py).
Within them a running VM is changed live: vCPUs set, memory added as a module (DIMM) of whole
MEMORY_ALIGN_MB. Anything else (fewer MiB, more than the maximums, no slot left, a stopped
VM) is written to its persistent definition and takes effect at its next boot: "pending
restart" until then.
"""

from __future__ import annotations

from dataclasses import dataclass

from mvm_tui.core.new_vm import disk_rbd, mac_for
from mvm_tui.core.vm_spec import MAX_MEMORY_MB, MAX_VCPUS, MEMORY_ALIGN_MB
from mvm_tui.units import count


@dataclass(frozen=True)
class DiskShape:
    target: str  # "vda"
    image: str  # its RBD image in the cluster's pool; "" for any other disk
    size_bytes: int = 0  # 0: not known
    cdrom: bool = False


@dataclass(frozen=True)
class NicShape:
    mac: str
    vlan: int | None  # its port group's VLAN (None: not on a vlan-N port group)


@dataclass(frozen=True)
class VmShape:
    """A VM's size and devices as it runs (or, stopped, as defined), and its size at the next
    boot (its persistent definition)."""

    running: bool
    vcpus: int
    max_vcpus: int
    memory_mb: int
    max_memory_mb: int
    free_slots: int  # memory slots left for a module
    next_vcpus: int
    next_memory_mb: int
    disks: tuple[DiskShape, ...] = ()
    nics: tuple[NicShape, ...] = ()

    @property
    def pending(self) -> str:
        """What its next boot changes ("" when nothing)."""
        if not self.running or (self.next_vcpus, self.next_memory_mb) == (
                self.vcpus, self.memory_mb):
            return ""
        return (f"pending restart: {count(self.next_vcpus, 'vCPU')}, "
                f"{self.next_memory_mb} MiB at its next boot")


@dataclass(frozen=True)
class Resize:
    vcpus: int
    memory_mb: int
    vcpus_live: bool  # vCPUs set on the running VM (and its definition)
    plug_mb: int  # a memory module of this many MiB added live (and to its definition); 0: none
    next_boot: bool  # its definition rewritten with the size, for its next boot
    says: tuple[str, ...]  # what is done live, and what waits for a restart


def resize_problems(vcpus: int, memory_mb: int) -> dict[str, str]:
    out = {}
    if not 1 <= vcpus <= MAX_VCPUS:
        out["vcpus"] = f"{vcpus} is not from 1 to {MAX_VCPUS}"
    if not 64 <= memory_mb <= MAX_MEMORY_MB:
        out["memory_mb"] = f"{memory_mb} MiB is not from 64 MiB to 4 TiB"
    elif memory_mb % 2:
        out["memory_mb"] = f"{memory_mb} MiB is not a whole number of 2 MiB"
    return out


def plan_resize(shape: VmShape, vcpus: int, memory_mb: int) -> Resize:
    """How to give the VM `vcpus` and `memory_mb`: live where it can be, else at its next
    boot. ValueError when the values are not acceptable, or nothing would change."""
    problems = resize_problems(vcpus, memory_mb)
    if problems:
        raise ValueError("; ".join(f"{k}: {v}" for k, v in problems.items()))
    if (vcpus, memory_mb) == (shape.vcpus, shape.memory_mb) == (
            shape.next_vcpus, shape.next_memory_mb):
        raise ValueError(f"it has {count(vcpus, 'vCPU')} and {memory_mb} MiB already")
    says = []
    vcpus_live = shape.running and vcpus != shape.vcpus and vcpus <= shape.max_vcpus
    if vcpus_live:
        says.append(f"vCPUs: {shape.vcpus} -> {vcpus}, live")
    elif vcpus != shape.vcpus:
        says.append(f"vCPUs: {shape.vcpus} -> {vcpus}, " + (
            f"at its next boot (more than its maximum, {shape.max_vcpus})" if shape.running
            else "at its next start"))
    more = memory_mb - shape.memory_mb
    plug = 0
    if shape.running and more > 0:
        why = ("" if more % MEMORY_ALIGN_MB == 0 else
               f"{more} MiB more is not a whole number of {MEMORY_ALIGN_MB} MiB modules")
        if not why and memory_mb > shape.max_memory_mb:
            why = f"more than its maximum, {shape.max_memory_mb} MiB"
        if not why and shape.free_slots < 1:
            why = "no memory slot left"
        plug = 0 if why else more
        says.append(f"memory: {shape.memory_mb} -> {memory_mb} MiB, " +
                    (f"live (a {more} MiB module)" if plug else f"at its next boot ({why})"))
    elif more:
        says.append(f"memory: {shape.memory_mb} -> {memory_mb} MiB, " + (
            "at its next boot (memory is not taken away live)" if shape.running
            else "at its next start"))
    next_vcpus = vcpus if vcpus_live else shape.next_vcpus
    next_memory = shape.memory_mb + plug if plug else shape.next_memory_mb
    next_boot = (next_vcpus, next_memory) != (vcpus, memory_mb)
    if next_boot and not says:
        says.append(f"its next boot: {count(vcpus, 'vCPU')} and {memory_mb} MiB "
                    "(no longer what was pending)")
    return Resize(vcpus, memory_mb, vcpus_live, plug, next_boot, tuple(says))


def growth(shape: VmShape, vcpus: int, memory_mb: int) -> tuple[int, int]:
    """What a resize asks more of the VM's host than it has now (vCPUs, MiB), at once or at
    its next boot; (0, 0) for a stopped VM (its start checks the room)."""
    if not shape.running:
        return 0, 0
    return max(vcpus - shape.vcpus, 0), max(memory_mb - shape.memory_mb, 0)


def find_disk(shape: VmShape, which: str) -> DiskShape:
    """A disk by its target ("vdb") or its image's name; ValueError naming what there is."""
    for disk in shape.disks:
        if which in (disk.target, disk.image) and not disk.cdrom:
            return disk
    there = ", ".join(d.target for d in shape.disks if not d.cdrom) or "none"
    raise ValueError(f"no disk {which!r} (its disks: {there})")


def next_disk(shape: VmShape, vm: str) -> tuple[str, str]:
    """The image and target of a disk added to the VM: the next free `vm.NAME.diskN` and
    virtio target."""
    used = {d.image for d in shape.disks}
    index = next(i for i in range(1, 1000) if disk_rbd(vm, i) not in used)
    targets = {d.target for d in shape.disks}
    free = [f"vd{c}" for c in "bcdefghijklmnopqrstuvwxyz" if f"vd{c}" not in targets]
    if not free:
        raise ValueError(f"{vm} has no virtio disk name left (vdb to vdz are taken)")
    return disk_rbd(vm, index), free[0]


def removable_disk(shape: VmShape, vm: str, which: str) -> DiskShape:
    disk = find_disk(shape, which)
    if disk.image == disk_rbd(vm, 0) or disk.target == "vda":
        raise ValueError(f"{disk.target} is the root disk of {vm}: delete the VM instead")
    return disk


def find_nic(shape: VmShape, which: str) -> NicShape:
    """A NIC by its MAC, or by its VLAN when it is the only one there."""
    by_mac = [n for n in shape.nics if n.mac.lower() == which.lower()]
    if by_mac:
        return by_mac[0]
    by_vlan = [n for n in shape.nics if which.isdigit() and n.vlan == int(which)]
    if len(by_vlan) == 1:
        return by_vlan[0]
    there = ", ".join(f"{n.mac} (VLAN {n.vlan})" for n in shape.nics) or "none"
    if len(by_vlan) > 1:
        raise ValueError(f"several NICs are on VLAN {which}: name one by its MAC ({there})")
    raise ValueError(f"no NIC {which!r} (its NICs: {there})")


def next_mac(shape: VmShape, uuid: str) -> str:
    """The MAC of a NIC added to the VM: the first of its uuid's series (core/new_vm) that it
    does not have."""
    macs = {n.mac.lower() for n in shape.nics}
    return next(m for i in range(10_000) if (m := mac_for(uuid, i)) not in macs)
