"""A VM's domain XML read and written for a change (issue 17): its shape (core/vm_change.py),
its definition with another size for its next boot, and the XML of a device to attach or
detach. Pure: the XML comes from libvirtd (`virsh dumpxml`), as in domxml.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mvm_tui.backends.libvirt.domxml import MIB, _bytes, _int
from mvm_tui.backends.libvirt.domxml import domain_root as _root
from mvm_tui.backends.libvirt.new_domain import RbdAccess, nic_element, rbd_disk_element
from mvm_tui.core.vm_change import DiskShape, NicShape, VmShape
from mvm_tui.core.vm_spec import MEMORY_ALIGN_MB


def _vcpus(root: ET.Element) -> tuple[int, int]:
    """(current, maximum)"""
    vcpu = root.find("vcpu")
    if vcpu is None:
        return 1, 1
    most = max(_int((vcpu.text or "").strip(), 1), 1)
    return _int(vcpu.get("current"), most) or most, most


def _disk(elem: ET.Element, pool: str) -> DiskShape:
    source = elem.find("source")
    name = source.get("name", "") if source is not None else ""
    rbd = source is not None and source.get("protocol") == "rbd" and name.startswith(f"{pool}/")
    target = elem.find("target")
    return DiskShape(target=target.get("dev", "") if target is not None else "",
                     image=name[len(pool) + 1:] if rbd else "",
                     cdrom=elem.get("device") == "cdrom")


def _nic(elem: ET.Element) -> NicShape:
    mac = elem.find("mac")
    source = elem.find("source")
    group = source.get("portgroup", "") if source is not None else ""
    tag = elem.find("vlan/tag")
    vlan = (_int(group[5:], 0) or None) if group.startswith("vlan-") else (
        _int(tag.get("id"), 0) or None if tag is not None else None)
    return NicShape(mac.get("address", "").lower() if mac is not None else "", vlan)


def parse_shape(xml: str, config_xml: str, running: bool, pool: str) -> VmShape:
    """The shape of a VM from its XML (the live one when it runs) and its persistent one."""
    root, config = _root(xml), _root(config_xml)
    vcpus, max_vcpus = _vcpus(root)
    memory = _bytes(root.find("memory")) // MIB
    maximum = root.find("maxMemory")
    slots = _int(maximum.get("slots"), 0) if maximum is not None else 0
    modules = len([m for m in root.findall("devices/memory") if m.get("model") == "dimm"])
    return VmShape(
        running=running, vcpus=vcpus, max_vcpus=max_vcpus, memory_mb=memory,
        max_memory_mb=_bytes(maximum) // MIB if maximum is not None else memory,
        free_slots=max(slots - modules, 0),
        next_vcpus=_vcpus(config)[0], next_memory_mb=_bytes(config.find("memory")) // MIB,
        disks=tuple(_disk(d, pool) for d in root.findall("devices/disk")),
        nics=tuple(_nic(n) for n in root.findall("devices/interface")))


def _set_mib(parent: ET.Element, tag: str, mb: int) -> None:
    elem = parent.find(tag)
    if elem is None:
        elem = ET.SubElement(parent, tag)
    elem.text, elem.attrib = str(mb), {**elem.attrib, "unit": "MiB"}


def next_boot_xml(config_xml: str, vcpus: int, memory_mb: int) -> str:
    """The persistent definition with `vcpus` and `memory_mb` for its next boot: its memory
    modules folded into its base memory, its maximums raised when the size is above them."""
    root = _root(config_xml)
    _, max_vcpus = _vcpus(root)
    max_vcpus = max(max_vcpus, vcpus)
    vcpu = root.find("vcpu")
    if vcpu is None:
        vcpu = ET.SubElement(root, "vcpu")
    vcpu.text = str(max_vcpus)
    vcpu.set("current", str(vcpus))
    for extra in root.findall("vcpus"):  # per-vCPU hotplug state: libvirt makes it again
        root.remove(extra)
    devices = root.find("devices")
    for module in devices.findall("memory") if devices is not None else ():
        if module.get("model") == "dimm" and devices is not None:
            devices.remove(module)
    maximum = root.find("maxMemory")
    if maximum is not None and _bytes(maximum) // MIB < memory_mb:
        most = memory_mb + (-memory_mb) % MEMORY_ALIGN_MB
        _set_mib(root, "maxMemory", most)
    _set_mib(root, "memory", memory_mb)
    _set_mib(root, "currentMemory", memory_mb)
    cells = root.findall("cpu/numa/cell")
    if len(cells) == 1:  # (as new_domain makes it; more cells are left to the operator)
        cells[0].set("cpus", f"0-{max_vcpus - 1}")
        cells[0].set("memory", str(memory_mb))
        cells[0].set("unit", "MiB")
    return ET.tostring(root, encoding="unicode")


def memory_module_xml(mb: int) -> str:
    module = ET.Element("memory", model="dimm")
    target = ET.SubElement(module, "target")
    size = ET.SubElement(target, "size", unit="MiB")
    size.text = str(mb)
    node = ET.SubElement(target, "node")
    node.text = "0"
    return ET.tostring(module, encoding="unicode")


def disk_xml(image: str, target: str, rbd: RbdAccess) -> str:
    devices = ET.Element("devices")
    rbd_disk_element(devices, image, target, rbd)
    return ET.tostring(devices[0], encoding="unicode")


def nic_xml(mac: str, vlan: int, network: str, offload: bool) -> str:
    devices = ET.Element("devices")
    nic_element(devices, mac, vlan, network, offload)
    return ET.tostring(devices[0], encoding="unicode")


def device_of(xml: str, target: str = "", mac: str = "") -> tuple[str, str]:
    """The XML and the alias (libvirt's name for it in a running VM; "" in a definition) of
    the disk with `target` or the NIC with `mac`; ValueError when it has none."""
    root = _root(xml)
    if target:
        found = [d for d in root.findall("devices/disk")
                 if (t := d.find("target")) is not None and t.get("dev") == target]
    else:
        found = [n for n in root.findall("devices/interface")
                 if (m := n.find("mac")) is not None and m.get("address", "").lower() ==
                 mac.lower()]
    if not found:
        raise ValueError(f"no device {target or mac} in the definition")
    alias = found[0].find("alias")
    return (ET.tostring(found[0], encoding="unicode").strip(),
            alias.get("name", "") if alias is not None else "")


def copy_xml(config_xml: str, name: str, uuid: str, pool: str, renames: dict[str, str],
             macs: list[str] | None) -> str:
    """A VM's persistent definition as its copy: its name and uuid, its RBD images of `pool`
    renamed (old -> new), its NICs given `macs` in order (a NIC beyond them keeps none: libvirt
    gives it one; None: they keep theirs, for a rename)."""
    root = _root(config_xml)
    for tag, text in (("name", name), ("uuid", uuid)):
        elem = root.find(tag)
        if elem is None:
            elem = ET.SubElement(root, tag)
        elem.text = text
    for source in root.findall("devices/disk/source"):
        image = source.get("name", "").removeprefix(f"{pool}/")
        if source.get("protocol") == "rbd" and image in renames:
            source.set("name", f"{pool}/{renames[image]}")
    for i, nic in enumerate(root.findall("devices/interface") if macs is not None else ()):
        mac = nic.find("mac")
        if mac is not None:
            if macs is not None and i < len(macs):
                mac.set("address", macs[i])
            else:
                nic.remove(mac)
    return ET.tostring(root, encoding="unicode")
