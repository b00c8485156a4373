"""The simulator's VmChanges (issue 17): a simulated VM resized live within its maximums or at
its next start, disks and NICs attached and detached, with the same commands in the previews
as on real hosts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from mvm_tui.backends import workload_commands as cmd
from mvm_tui.backends.base import InvalidState, NotFound
from mvm_tui.backends.sim.state import HostState, VmState
from mvm_tui.core.placement import LIVE
from mvm_tui.core.vm_change import DiskShape, NicShape, VmShape
from mvm_tui.core.vm_spec import MEMORY_SLOTS, VmSpec
from mvm_tui.models import Disk, Nic
from mvm_tui.units import count

GB = 2**30


@dataclass
class Maxima:
    vcpus: int
    memory_mb: int
    slots: int = MEMORY_SLOTS
    modules: int = 0  # memory modules plugged since it started

    @classmethod
    def of(cls, spec: VmSpec) -> Maxima:
        return cls(spec.max_vcpus, spec.max_memory_mb)


class _World(Protocol):
    @property
    def reach(self) -> Callable[[HostState], Awaitable[None]]: ...

    def host(self, name: str) -> HostState: ...


class SimVmChanges:
    """Mixed into SimWorkloads, whose world, pool, RBD images and VMs' maxima it uses."""

    world: _World
    pool: str
    maxima: dict[str, Maxima]

    async def _vm(self, host: str, vm: str) -> VmState:
        h = self.world.host(host)
        await self.world.reach(h)
        state = h.vms.get(vm)
        if state is None:
            raise NotFound(f"{host}: VM {vm} is not defined there")
        return state

    def _maxima(self, state: VmState) -> Maxima:
        t = state.template
        return self.maxima.setdefault(t.name, Maxima.of(VmSpec(t.name, t.vcpus, t.memory_mb, ())))

    async def shape(self, host: str, vm: str) -> VmShape:
        state = await self._vm(host, vm)
        t, most = state.template, self._maxima(state)
        prefix = f"rbd:{self.pool}/"
        nxt = state.next_boot or (t.vcpus, t.memory_mb)
        return VmShape(
            running=state.power in LIVE, vcpus=t.vcpus, max_vcpus=most.vcpus,
            memory_mb=t.memory_mb, max_memory_mb=most.memory_mb,
            free_slots=most.slots - most.modules, next_vcpus=nxt[0], next_memory_mb=nxt[1],
            disks=tuple(DiskShape(d.target, d.source.removeprefix(prefix)
                                  if d.source.startswith(prefix) else "",
                                  int(d.size_gb * GB), cdrom=d.bus == "scsi")
                        for d in t.disks),
            nics=tuple(NicShape(n.mac, n.vlan) for n in t.nics))

    def _change(self, state: VmState, **update: object) -> None:
        state.template = state.template.model_copy(update=update)

    def vcpus_commands(self, host: str, vm: str, vcpus: int) -> list[str]:
        return [cmd.on(host, cmd.setvcpus(vm, vcpus, live=True))]

    async def set_vcpus(self, host: str, vm: str, vcpus: int) -> None:
        state = await self._vm(host, vm)
        if vcpus > self._maxima(state).vcpus:
            raise InvalidState(f"{vm}: {count(vcpus, 'vCPU')} is more than its maximum")
        self._change(state, vcpus=vcpus)
        if state.next_boot is not None:
            state.next_boot = (vcpus, state.next_boot[1])

    def plug_commands(self, host: str, vm: str, mb: int) -> list[str]:
        return [cmd.on(host, cmd.attach(vm, live=True), f"a {mb} MiB memory module")]

    async def plug_memory(self, host: str, vm: str, mb: int) -> None:
        state = await self._vm(host, vm)
        most = self._maxima(state)
        if state.power not in LIVE or most.modules >= most.slots:
            raise InvalidState(f"{vm}: no memory module can be added now")
        most.modules += 1
        self._change(state, memory_mb=state.template.memory_mb + mb)
        if state.next_boot is not None:
            state.next_boot = (state.next_boot[0], state.template.memory_mb)

    def next_boot_commands(self, host: str, vm: str, vcpus: int, memory_mb: int) -> list[str]:
        return [cmd.on(host, cmd.dumpxml(vm, inactive=True)),
                cmd.on(host, cmd.define(), f"that definition with {count(vcpus, 'vCPU')} and "
                       f"{memory_mb} MiB")]

    async def set_next_boot(self, host: str, vm: str, vcpus: int, memory_mb: int) -> None:
        state = await self._vm(host, vm)
        most = self._maxima(state)
        most.vcpus, most.memory_mb = max(most.vcpus, vcpus), max(most.memory_mb, memory_mb)
        if state.power in LIVE:
            state.next_boot = (vcpus, memory_mb)
        else:
            self._change(state, vcpus=vcpus, memory_mb=memory_mb)

    def attach_disk_commands(self, host: str, vm: str, image: str, target: str) -> list[str]:
        return [cmd.on(host, cmd.attach(vm), f"the RBD disk {self.pool}/{image} as {target}")]

    async def attach_disk(self, host: str, vm: str, image: str, target: str) -> None:
        state = await self._vm(host, vm)
        size = await self.disk_bytes(image)
        if size is None:
            raise NotFound(f"no RBD image {self.pool}/{image}")
        if any(d.target == target for d in state.template.disks):
            return
        disk = Disk(target=target, source=f"rbd:{self.pool}/{image}", size_gb=size / GB)
        self._change(state, disks=(*state.template.disks, disk))

    def attach_nic_commands(self, host: str, vm: str, mac: str, vlan: int,
                            offload: bool) -> list[str]:
        return [cmd.on(host, cmd.attach(vm), f"a NIC {mac} on the port group vlan-{vlan}")]

    async def attach_nic(self, host: str, vm: str, mac: str, vlan: int, offload: bool) -> None:
        state = await self._vm(host, vm)
        if all(n.mac != mac for n in state.template.nics):
            nic = Nic(mac=mac, network="br-compute", vlan=vlan)
            self._change(state, nics=(*state.template.nics, nic))

    def detach_commands(self, host: str, vm: str, device: str) -> list[str]:
        return [cmd.on(host, cmd.detach(vm, live=True), f"its {device}")]

    async def detach(self, host: str, vm: str, device: str, timeout: float) -> None:
        state = await self._vm(host, vm)
        t = state.template
        self._change(state, disks=tuple(d for d in t.disks if d.target != device),
                     nics=tuple(n for n in t.nics if n.mac != device))

    def grow_commands(self, host: str, vm: str, image: str, target: str,
                      size_gb: int) -> list[str]:
        return [cmd.on("any host", cmd.resize(self.pool, image, size_gb)),
                cmd.on(host, cmd.blockresize(vm, target, size_gb))]

    async def grow(self, host: str, vm: str, image: str, target: str, size_gb: int) -> None:
        state = await self._vm(host, vm)
        self.resize_rbd(image, size_gb * GB)
        self._change(state, disks=tuple(d.model_copy(update={"size_gb": float(size_gb)})
                                        if d.target == target else d
                                        for d in state.template.disks))

    async def disk_bytes(self, disk: str) -> int | None:
        raise NotImplementedError  # (SimWorkloads')

    def resize_rbd(self, image: str, size: int) -> None:
        raise NotImplementedError  # (SimWorkloads')
