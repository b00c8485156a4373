"""A domain's disk sizes: libvirt is not asked (blockInfo) for an RBD disk of a VM that is not
running: it sizes one only through its RBD storage backend, which hosts often lack (the lab's
do); a running VM's sizes come from its statistics, else from qemu."""

from __future__ import annotations

from typing import Any

from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.backends.libvirt.inventory import _disk_sizes
from mvm_tui.backends.libvirt.new_domain import RbdAccess, domain_xml
from mvm_tui.core.vm_spec import DiskSpec, VmSpec

XML = domain_xml(VmSpec(name="web-1", vcpus=1, memory_mb=512,
                        disks=(DiskSpec(10, "vms", "vm.web-1.disk0"),), seed="vms/vm.web-1.seed"),
                 RbdAccess((), "libvirt", "5e1f7c2a-9b0d-4c61-8f4e-2d3a6b7c8e90"), "br")


class Dom:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def blockInfo(self, target: str, flags: int) -> list[int]:
        self.asked.append(target)
        return [5 * 2**30, 0, 0]


def test_an_rbd_disk_is_not_sized_through_libvirt_but_from_statistics() -> None:
    spec = parse_domain(XML.replace("<devices>", "<devices><disk type='file' device='disk'>"
                                    "<source file='/var/lib/x.qcow2'/><target dev='vdz' "
                                    "bus='virtio'/></disk>", 1))
    dom, caps = Dom(), dict[tuple[str, str], int]()
    stopped: dict[str, Any] = {}
    assert _disk_sizes(dom, spec, stopped, caps, active=False) == (5 * 2**30, 0)  # vdz, vda
    assert dom.asked == ["vdz"]
    running = {"block.count": 1, "block.0.name": "vda", "block.0.capacity": 10 * 2**30}
    assert _disk_sizes(dom, spec, running, {})[1] == 10 * 2**30
