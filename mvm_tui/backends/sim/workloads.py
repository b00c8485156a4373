"""The simulator's Workloads (issue 17): an image library and RBD images in memory, the same
commands in the previews as on real hosts (backends/workload_commands.py), and a defined VM
made a simulated VM of its host, shut off, like `virsh define`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from mvm_tui.backends import workload_commands as cmd
from mvm_tui.backends.base import BackendError, InvalidState, NotFound
from mvm_tui.backends.capabilities import Image, KeptVm
from mvm_tui.backends.sim.snapshots import RbdSnap
from mvm_tui.backends.sim.spec import SimVmSpec
from mvm_tui.backends.sim.state import HostState, VmState
from mvm_tui.backends.sim.vm_changes import Maxima, SimVmChanges
from mvm_tui.clock import Clock
from mvm_tui.core.new_vm import image_rbd
from mvm_tui.core.placement import LIVE
from mvm_tui.core.vm_spec import VmSpec
from mvm_tui.models import Disk, PowerState, Vm

GB = 2**30  # rbd's G
SECRET_UUID = "5e1f7c2a-9b0d-4c61-8f4e-2d3a6b7c8e90"
# the demo's library: what an operator imports first
DEMO_IMAGES = (("debian-12", "Debian 12", 2 * GB), ("ubuntu-22.04", "Ubuntu 22.04", 3 * GB))


@dataclass
class _Rbd:
    size: int
    parent: str = ""  # the library image it was cloned from
    data: bytes = b""
    snaps: dict[str, RbdSnap] = field(default_factory=dict)  # its snapshots (sim/snapshots.py)


@dataclass
class SimWorld:
    """What SimWorkloads uses of SimBackend (which builds it: no import back)."""

    name: str
    hosts: dict[str, HostState]
    vms: dict[str, VmState]
    clock: Clock
    reach: Callable[[HostState], Awaitable[None]]  # a host answers, or HostUnreachable
    make_vm: Callable[[SimVmSpec, float, int], VmState]

    def host(self, name: str) -> HostState:
        try:
            return self.hosts[name]
        except KeyError:
            raise NotFound(f"host {name} does not exist") from None


@dataclass
class SimWorkloads(SimVmChanges):
    world: SimWorld
    pool: str = "vms"
    rbd_user: str = "libvirt"
    library: dict[str, str] = field(default_factory=dict)  # image -> its OS
    rbd: dict[str, _Rbd] = field(default_factory=dict)
    files: dict[tuple[str, str], int] = field(default_factory=dict)  # (host, path) -> size
    trashed: dict[str, tuple[_Rbd, str]] = field(default_factory=dict)  # disk -> (it, expiry)
    marks: dict[str, str] = field(default_factory=dict)  # deleted VM -> its uuid
    maxima: dict[str, Maxima] = field(default_factory=dict)  # VM -> its maximums
    definitions: dict[str, Vm] = field(default_factory=dict)  # deleted VM -> what was kept

    def __post_init__(self) -> None:
        for name, os, size in DEMO_IMAGES:
            self.library[name] = os
            self.rbd[image_rbd(name)] = _Rbd(size)
        prefix = f"rbd:{self.pool}/"
        for state in self.world.vms.values():  # the demo's own VMs' disks
            for d in state.disks:
                if d.source.startswith(prefix):
                    self.rbd[d.source.removeprefix(prefix)] = _Rbd(int(d.size_gb * GB))

    async def _any_host(self) -> None:
        """A host answers (the commands run on the first that does)."""
        for h in self.world.hosts.values():
            if h.reachable:
                await self.world.reach(h)
                return
        raise BackendError("rbd: no host answered")

    async def images(self) -> list[Image]:
        await self._any_host()
        return [Image(name, os, self.rbd[image_rbd(name)].size,
                      tuple(sorted(d for d, r in self.rbd.items() if r.parent == name)))
                for name, os in sorted(self.library.items())]

    async def secret_uuid(self) -> str:
        await self._any_host()
        return SECRET_UUID

    def upload_commands(self, host: str, local: str, remote: str) -> list[str]:
        return [f"sftp: {local} (this jump box) -> {host}:{remote}"]

    async def upload(self, host: str, local: str, remote: str, size: int,
                     progress: Callable[[int, int], None] | None = None) -> None:
        await self.world.reach(self.world.host(host))
        if progress is not None:
            progress(size, size)
        self.files[(host, remote)] = size

    async def remove_upload(self, host: str, remote: str) -> None:
        await self.world.reach(self.world.host(host))
        self.files.pop((host, remote), None)

    async def file_size(self, host: str, path: str) -> int | None:
        await self.world.reach(self.world.host(host))
        return self.files.get((host, path))

    def import_commands(self, host: str, path: str, image: str, os: str) -> list[str]:
        return [cmd.on(host, argv) for argv in cmd.import_image(self.pool, path, image, os)]

    async def import_image(self, host: str, path: str, image: str, os: str) -> None:
        await self.world.reach(self.world.host(host))
        if image in self.library:
            return
        size = self.files.get((host, path))
        if size is None:
            raise NotFound(f"{host}: no file {path}")
        self.rbd[image_rbd(image)] = _Rbd(size)
        self.library[image] = os

    async def image_users(self, image: str) -> list[str]:
        await self._any_host()
        return sorted([d for d, r in self.rbd.items() if r.parent == image] +
                      [f"{d} (in the trash)" for d, (r, _) in self.trashed.items()
                       if r.parent == image])

    def rename_image_commands(self, image: str, new: str) -> list[str]:
        return [cmd.on("any host", cmd.rename_image(self.pool, image, new))]

    async def rename_image(self, image: str, new: str) -> None:
        await self._any_host()
        if image not in self.library:
            return
        self.library[new] = self.library.pop(image)
        self.rbd[image_rbd(new)] = self.rbd.pop(image_rbd(image))
        for r in [*self.rbd.values(), *(t[0] for t in self.trashed.values())]:
            if r.parent == image:
                r.parent = new

    def remove_image_commands(self, image: str) -> list[str]:
        return [cmd.on("any host", argv) for argv in cmd.remove_image(self.pool, image)]

    async def remove_image(self, image: str) -> None:
        if await self.image_users(image):
            raise InvalidState(f"{image} has clones: not removed")
        self.library.pop(image, None)
        self.rbd.pop(image_rbd(image), None)

    def clone_commands(self, image: str, disk: str, size_gb: int) -> list[str]:
        return [cmd.on("any host", argv) for argv in cmd.clone(self.pool, image, disk, size_gb)]

    async def clone(self, image: str, disk: str, size_gb: int) -> None:
        await self._any_host()
        if image not in self.library:
            raise NotFound(f"no image named {image} in the library")
        self.rbd.setdefault(disk, _Rbd(size_gb * GB, parent=image))

    def volume_commands(self, disk: str, size_gb: int) -> list[str]:
        return [cmd.on("any host", cmd.volume(self.pool, disk, size_gb))]

    async def make_volume(self, disk: str, size_gb: int) -> None:
        await self._any_host()
        self.rbd.setdefault(disk, _Rbd(size_gb * GB))

    async def disk_bytes(self, disk: str) -> int | None:
        await self._any_host()
        found = self.rbd.get(disk)
        return None if found is None else found.size

    def resize_rbd(self, image: str, size: int) -> None:
        found = self.rbd.get(image)
        if found is None:
            raise NotFound(f"no RBD image {self.pool}/{image}")
        found.size = max(found.size, size)

    def seed_commands(self, seed: str) -> list[str]:
        return [cmd.on("any host", cmd.write_seed(self.pool, seed))]

    async def write_seed(self, seed: str, data: bytes) -> None:
        await self._any_host()
        self.rbd[seed] = _Rbd(len(data), data=data)

    def define_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on(host, cmd.define(), f"the domain XML of {vm}")]

    async def define(self, host: str, xml: str, spec: VmSpec) -> None:
        world = self.world
        await world.reach(world.host(host))
        if spec.name in world.vms:
            return
        v = SimVmSpec(name=spec.name, host=host, vcpus=spec.vcpus, memory_mb=spec.memory_mb,
                      disk_gb=spec.disks[0].size_gb, placement=spec.placement,
                      power=PowerState.SHUTOFF,
                      vlan=spec.nics[0].vlan if spec.nics else None,
                      extra_disks_gb=tuple(d.size_gb for d in spec.disks[1:]))
        state = world.make_vm(v, world.clock.now(), len(world.vms) + 1)
        disks = [Disk(target=f"vd{chr(ord('a') + i)}", source=f"rbd:{d.pool}/{d.image}",
                      size_gb=d.size_gb) for i, d in enumerate(spec.disks)]
        if spec.seed:
            disks.append(Disk(target="sda", source=f"rbd:{spec.seed}", size_gb=0, bus="scsi"))
        update: dict[str, object] = {"disks": tuple(disks), "priority": spec.priority}
        if spec.uuid:
            update["uuid"] = spec.uuid
        state.template = state.template.model_copy(update=update)
        self.maxima[spec.name] = Maxima.of(spec)
        world.vms[spec.name] = state
        world.hosts[host].vms[spec.name] = state

    async def defined(self, vm: str) -> dict[str, str]:
        out = {}
        for h in self.world.hosts.values():
            await self.world.reach(h)
            found = h.vms.get(vm)
            if found is not None:
                out[h.spec.name] = found.template.uuid
        return out

    def undefine_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on(host, cmd.undefine(vm))]

    async def undefine(self, host: str, vm: str) -> None:
        world = self.world
        h = world.host(host)
        await world.reach(h)
        state = h.vms.get(vm)
        if state is None:
            return
        if state.power in LIVE:
            raise InvalidState(f"{vm} is {state.power.value} on {host}: not undefined")
        del h.vms[vm]
        if world.vms.get(vm) is state:
            del world.vms[vm]

    def trash_commands(self, disk: str, expires: str) -> list[str]:
        return [cmd.on("any host", cmd.trash(self.pool, disk, expires))]

    async def trash(self, disk: str, expires: str) -> None:
        await self._any_host()
        if disk in self.rbd:
            self.trashed[disk] = (self.rbd.pop(disk), expires)

    def mark_commands(self, vm: str) -> list[str]:
        return [cmd.on("any host", cmd.mark("mvm-ha", self.world.name, vm, "UUID"))]

    async def mark_deleted(self, vm: str, uuid: str) -> None:
        await self._any_host()
        self.marks[vm] = uuid

    async def deleted(self, vm: str) -> str | None:
        await self._any_host()
        return self.marks.get(vm)

    async def unmark_deleted(self, vm: str) -> None:
        await self._any_host()
        self.marks.pop(vm, None)

    def keep_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on(host, cmd.dumpxml(vm, inactive=True)),
                cmd.on("any host", cmd.keep("mvm-ha", self.world.name, vm, write=True),
                       "that definition")]

    async def keep_definition(self, host: str, vm: str) -> None:
        self.definitions[vm] = (await self._vm(host, vm)).template

    async def kept(self, vm: str) -> KeptVm | None:
        await self._any_host()
        t = self.definitions.get(vm)
        prefix = f"rbd:{self.pool}/"
        return None if t is None else KeptVm(
            t.uuid, t.vcpus, t.memory_mb,
            tuple(d.source.removeprefix(prefix) for d in t.disks if d.source.startswith(prefix)))

    async def deleted_vms(self) -> list[str]:
        await self._any_host()
        return sorted(self.definitions)

    async def forget_kept(self, vm: str) -> None:
        await self._any_host()
        self.definitions.pop(vm, None)

    def untrash_commands(self, image: str) -> list[str]:
        return [cmd.on("any host", cmd.untrash(self.pool, f"ID-OF-{image}"))]

    async def untrash(self, image: str) -> None:
        await self._any_host()
        if image in self.rbd:
            return
        if image not in self.trashed:
            raise NotFound(f"{self.pool}/{image} is neither in the pool nor in its trash")
        self.rbd[image] = self.trashed.pop(image)[0]

    def copy_disk_commands(self, disk: str, new: str) -> list[str]:
        return [cmd.on("any host", cmd.deep_copy(self.pool, disk, new))]

    async def copy_disk(self, disk: str, new: str) -> None:
        """`disk`, or `disk@snapshot` (its size then), copied as `new`."""
        await self._any_host()
        image, _, snap = disk.partition("@")
        source = self.rbd.get(image)
        if source is None or (snap and snap not in source.snaps):
            raise NotFound(f"no RBD image {self.pool}/{disk}")
        size = source.snaps[snap].size if snap else source.size
        self.rbd.setdefault(new, _Rbd(size, source.parent, source.data))

    async def read_seed(self, seed: str) -> bytes | None:
        await self._any_host()
        found = self.rbd.get(seed)
        return None if found is None else found.data

    def define_copy_commands(self, host: str, source_host: str, source: str,
                             name: str) -> list[str]:
        return [cmd.on(source_host, cmd.dumpxml(source, inactive=True)),
                cmd.on(host, cmd.define(), f"that definition as {name}")]

    async def define_copy(self, host: str, source_host: str, source: str, name: str,
                          uuid: str, renames: dict[str, str], macs: list[str]) -> None:
        world = self.world
        src = world.host(source_host).vms.get(source)
        await world.reach(world.host(host))
        if src is None:
            raise NotFound(f"{source_host}: VM {source} is not defined there")
        if name in world.vms:
            return
        t = src.template
        prefix = f"rbd:{self.pool}/"
        disks = tuple(d.model_copy(update={"source": prefix + renames.get(
            d.source.removeprefix(prefix), d.source.removeprefix(prefix))})
            if d.source.startswith(prefix) else d for d in t.disks)
        nics = tuple(n.model_copy(update={"mac": mac}) for n, mac in zip(t.nics, macs,
                                                                        strict=False))
        state = world.make_vm(SimVmSpec(name=name, host=host, vcpus=t.vcpus,
                                        memory_mb=t.memory_mb, disk_gb=0,
                                        placement=t.placement, power=PowerState.SHUTOFF),
                              world.clock.now(), len(world.vms) + 1)
        state.template = t.model_copy(update={"name": name, "uuid": uuid, "host": host,
                                              "power": PowerState.SHUTOFF, "disks": disks,
                                              "nics": nics})
        self.maxima[name] = replace(self._maxima(src), modules=0)
        world.vms[name] = state
        world.hosts[host].vms[name] = state

    def rename_disk_commands(self, disk: str, new: str) -> list[str]:
        return [cmd.on("any host", cmd.rename(self.pool, disk, new))]

    async def rename_disk(self, disk: str, new: str) -> None:
        await self._any_host()
        if new not in self.rbd and disk in self.rbd:
            self.rbd[new] = self.rbd.pop(disk)

    def rename_vm_commands(self, host: str, vm: str, new: str) -> list[str]:
        return [cmd.on(host, cmd.domrename(vm, new)),
                cmd.on(host, cmd.define(), "its definition with its disks' new names")]

    async def rename_vm(self, host: str, vm: str, new: str, renames: dict[str, str]) -> None:
        world = self.world
        h = world.host(host)
        await world.reach(h)
        state = h.vms.pop(vm, None) or h.vms.get(new)
        if state is None:
            raise NotFound(f"{host}: VM {vm} is not defined there")
        world.vms.pop(vm, None)
        prefix = f"rbd:{self.pool}/"
        disks = tuple(d.model_copy(update={"source": prefix + renames.get(
            d.source.removeprefix(prefix), d.source.removeprefix(prefix))})
            if d.source.startswith(prefix) else d for d in state.template.disks)
        state.template = state.template.model_copy(update={"name": new, "disks": disks})
        if vm in self.maxima:
            self.maxima[new] = self.maxima.pop(vm)
        h.vms[new] = world.vms[new] = state

    def define_kept_commands(self, host: str, vm: str) -> list[str]:
        return [cmd.on("any host", cmd.keep("mvm-ha", self.world.name, vm, write=False)),
                cmd.on(host, cmd.define(), "that definition"),
                cmd.on("any host", cmd.forget_kept("mvm-ha", self.world.name, vm))]

    async def define_kept(self, host: str, vm: str) -> None:
        world = self.world
        await world.reach(world.host(host))
        t = self.definitions.get(vm)
        if t is None:
            raise NotFound(f"no definition of {vm} kept")
        if vm in world.vms:
            return
        state = world.make_vm(SimVmSpec(name=vm, host=host, vcpus=t.vcpus,
                                        memory_mb=t.memory_mb, disk_gb=0,
                                        placement=t.placement, power=PowerState.SHUTOFF),
                              world.clock.now(), len(world.vms) + 1)
        state.template = t.model_copy(update={"host": host, "power": PowerState.SHUTOFF})
        world.vms[vm] = state
        world.hosts[host].vms[vm] = state
