"""RealWorkloads' VmChanges (issue 17): a VM's shape read with `virsh dumpxml`, its size set
with `virsh setvcpus` and a memory module, devices attached with `virsh attach-device`, all
as root over the pooled SSH connection of its host; a device detached from a running VM over
libvirt itself, where the device-removed event confirms it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mvm_tui.backends import workload_commands as cmd
from mvm_tui.backends.base import BackendError
from mvm_tui.backends.libvirt import domain_change as dc
from mvm_tui.backends.libvirt.new_domain import RbdAccess
from mvm_tui.core.vm_change import VmShape
from mvm_tui.units import count

NETWORK = "br-compute"  # provisioning's compute network (provision/ovs.sh)
LIVE_STATES = ("running", "paused", "in shutdown")


class DetachHost(Protocol):
    async def detach_live(self, host: str, vm: str, xml: str, alias: str,
                          timeout: float) -> bool:
        """Detach the device from the running VM (and its definition); whether libvirt's
        device-removed event for `alias` came within `timeout` s."""
        ...


class RealVmChanges:
    pool: str
    rbd_user: str
    backend: DetachHost

    async def _must(self, host: str | None, argv: Sequence[str], stdin: str | None = None,
                    timeout: float | None = None) -> str:
        raise NotImplementedError  # (RealWorkloads')

    async def secret_uuid(self) -> str:
        raise NotImplementedError

    async def _running(self, host: str, vm: str) -> bool:
        return (await self._must(host, cmd.domstate(vm))).strip() in LIVE_STATES

    async def shape(self, host: str, vm: str) -> VmShape:
        running = await self._running(host, vm)
        xml = await self._must(host, cmd.dumpxml(vm))
        config = await self._must(host, cmd.dumpxml(vm, inactive=True))
        return dc.parse_shape(xml, config, running, self.pool)

    def vcpus_commands(self, host: str, vm: str, vcpus: int) -> list[str]:
        return [cmd.on(host, cmd.setvcpus(vm, vcpus, live=True)) + "  (--config alone when "
                "it is stopped)"]

    async def set_vcpus(self, host: str, vm: str, vcpus: int) -> None:
        await self._must(host, cmd.setvcpus(vm, vcpus, await self._running(host, vm)))

    def plug_commands(self, host: str, vm: str, mb: int) -> list[str]:
        return [cmd.on(host, cmd.attach(vm, live=True), dc.memory_module_xml(mb))]

    async def plug_memory(self, host: str, vm: str, mb: int) -> None:
        await self._must(host, cmd.attach(vm, live=True), dc.memory_module_xml(mb))

    def next_boot_commands(self, host: str, vm: str, vcpus: int, memory_mb: int) -> list[str]:
        return [cmd.on(host, cmd.dumpxml(vm, inactive=True)),
                cmd.on(host, cmd.define(), f"that definition with {count(vcpus, 'vCPU')} and "
                       f"{memory_mb} MiB (its memory modules folded in)"),
                cmd.on(host, cmd.mark_pending(vm, vcpus, memory_mb)) + "  (when it runs)"]

    async def set_next_boot(self, host: str, vm: str, vcpus: int, memory_mb: int) -> None:
        config = await self._must(host, cmd.dumpxml(vm, inactive=True))
        await self._must(host, cmd.define(), dc.next_boot_xml(config, vcpus, memory_mb))
        if await self._running(host, vm):
            await self._must(host, cmd.mark_pending(vm, vcpus, memory_mb))

    async def _disk_xml(self, image: str, target: str) -> str:
        rbd = RbdAccess((), self.rbd_user, await self.secret_uuid())
        return dc.disk_xml(f"{self.pool}/{image}", target, rbd)

    def attach_disk_commands(self, host: str, vm: str, image: str, target: str) -> list[str]:
        rbd = RbdAccess((), self.rbd_user, "SECRET-UUID")
        return [cmd.on(host, cmd.attach(vm), dc.disk_xml(f"{self.pool}/{image}", target, rbd))]

    async def attach_disk(self, host: str, vm: str, image: str, target: str) -> None:
        await self._must(host, cmd.attach(vm), await self._disk_xml(image, target))

    def attach_nic_commands(self, host: str, vm: str, mac: str, vlan: int,
                            offload: bool) -> list[str]:
        return [cmd.on(host, cmd.attach(vm), dc.nic_xml(mac, vlan, NETWORK, offload))]

    async def attach_nic(self, host: str, vm: str, mac: str, vlan: int, offload: bool) -> None:
        await self._must(host, cmd.attach(vm), dc.nic_xml(mac, vlan, NETWORK, offload))

    def detach_commands(self, host: str, vm: str, device: str) -> list[str]:
        return [cmd.on(host, cmd.detach(vm, live=True), f"its {device} as `virsh dumpxml` "
                       "shows it") + "  (over libvirt, confirmed by the device-removed event; "
                "--config alone when it is stopped)"]

    async def detach(self, host: str, vm: str, device: str, timeout: float) -> None:
        running = await self._running(host, vm)
        xml = await self._must(host, cmd.dumpxml(vm, inactive=not running))
        mac = ":" in device
        try:
            element, alias = dc.device_of(xml, mac=device) if mac else dc.device_of(
                xml, target=device)
        except ValueError:
            return  # not there (a retry after it went)
        if not running:
            await self._must(host, cmd.detach(vm, live=False), element)
        elif not await self.backend.detach_live(host, vm, element, alias, timeout):
            raise BackendError(f"{host}: {vm} has not let {device} go within {timeout:g} s "
                               "(no device-removed event): it is still attached; the guest "
                               "may be busy with it, or not answer ACPI")

    def grow_commands(self, host: str, vm: str, image: str, target: str,
                      size_gb: int) -> list[str]:
        return [cmd.on("a host", cmd.resize(self.pool, image, size_gb)),
                cmd.on(host, cmd.blockresize(vm, target, size_gb)) + "  (when it runs)"]

    async def grow(self, host: str, vm: str, image: str, target: str, size_gb: int) -> None:
        await self._must(None, cmd.resize(self.pool, image, size_gb))
        if await self._running(host, vm):
            await self._must(host, cmd.blockresize(vm, target, size_gb))
