"""The domain XML of a new VM (issue 17), made for change: maximum vCPUs and hot-pluggable
memory slots set at creation, a serial and a virtio console, the qemu guest agent's channel,
disks on Ceph RBD with the cluster's cephx secret, NICs on the compute network's VLAN port
groups (provision/ovs.sh's libvirt network, a port group vlan-N per VLAN). Pure: the preview
shows exactly what is defined.

Every value comes from a checked VmSpec; ElementTree escapes what it writes all the same.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from mvm_tui.backends.libvirt.metadata import NS_PREFIX, NS_URI, TAG
from mvm_tui.core.vm_spec import MEMORY_SLOTS, VmSpec

AGENT_CHANNEL = "org.qemu.guest_agent.0"
ET.register_namespace(NS_PREFIX, NS_URI)  # the placement element as mvm:placement


@dataclass(frozen=True)
class RbdAccess:
    """How qemu reaches the cluster's RBD images."""

    # the monitors' addresses; none: librbd reads them from each host's ceph.conf, so the
    # definition follows a monitor's move (what provisioning and a decommission keep right)
    monitors: tuple[str, ...]
    user: str  # the cephx user libvirt connects as ("libvirt")
    secret_uuid: str  # the libvirt secret holding that user's key, on every host


def domain_xml(spec: VmSpec, rbd: RbdAccess, network: str, cpu_mode: str = "host-model",
               virt_type: str = "kvm", nic_offload: bool = True) -> str:
    """The XML to define `spec` with (virDomainDefineXML). `virt_type` "qemu": emulated (a lab
    whose nested KVM cannot run the guest). `nic_offload` False: the NICs offer the guest no
    checksum offload (Open vSwitch's userspace datapath does not complete the checksums a
    guest leaves to it: its TCP would fail, seen in the lab)."""
    root = ET.Element("domain", type=virt_type)
    _text(root, "name", spec.name)
    if spec.uuid:
        _text(root, "uuid", spec.uuid)
    metadata = ET.SubElement(root, "metadata")
    placement = ET.SubElement(metadata, f"{{{NS_URI}}}{TAG}", strategy=spec.placement.value)
    if spec.priority:
        placement.set("priority", str(spec.priority))
    _text(root, "maxMemory", str(spec.max_memory_mb), slots=str(MEMORY_SLOTS), unit="MiB")
    _text(root, "memory", str(spec.memory_mb), unit="MiB")
    _text(root, "currentMemory", str(spec.memory_mb), unit="MiB")
    _text(root, "vcpu", str(spec.max_vcpus), placement="static", current=str(spec.vcpus))
    os_ = ET.SubElement(root, "os")
    _text(os_, "type", "hvm", arch="x86_64", machine="q35")
    ET.SubElement(os_, "boot", dev="hd")
    features = ET.SubElement(root, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    cpu = ET.SubElement(root, "cpu", mode=cpu_mode)
    numa = ET.SubElement(cpu, "numa")  # (memory hotplug needs a NUMA cell)
    ET.SubElement(numa, "cell", id="0", cpus=f"0-{spec.max_vcpus - 1}",
                  memory=str(spec.memory_mb), unit="MiB")
    ET.SubElement(root, "clock", offset="utc")
    for event, action in (("on_poweroff", "destroy"), ("on_reboot", "restart"),
                          ("on_crash", "destroy")):
        _text(root, event, action)
    devices = ET.SubElement(root, "devices")
    for i, disk in enumerate(spec.disks):
        rbd_disk_element(devices, f"{disk.pool}/{disk.image}", f"vd{chr(ord('a') + i)}", rbd)
    if spec.seed:  # on RBD too, so every host reads it: the VM can fail over
        # on virtio-scsi: cloud kernels (Debian's) have no AHCI driver for a SATA CD-ROM
        ET.SubElement(devices, "controller", type="scsi", index="0", model="virtio-scsi")
        rbd_disk_element(devices, spec.seed, "sda", rbd, device="cdrom")
    for nic in spec.nics:
        nic_element(devices, nic.mac, nic.vlan, network, nic_offload)
    serial = ET.SubElement(devices, "serial", type="pty")
    # what it wrote is kept on its host, read when it is stopped (Consoles.boot_log)
    ET.SubElement(serial, "log", file=serial_log(spec.name), append="on")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    virtio_console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(virtio_console, "target", type="virtio", port="1")
    channel = ET.SubElement(devices, "channel", type="unix")
    ET.SubElement(channel, "target", type="virtio", name=AGENT_CHANNEL)
    balloon = ET.SubElement(devices, "memballoon", model="virtio")
    ET.SubElement(balloon, "stats", period="5")
    rng = ET.SubElement(devices, "rng", model="virtio")
    _text(rng, "backend", "/dev/urandom", model="random")
    ET.indent(root)  # the preview shows it as it is defined
    return ET.tostring(root, encoding="unicode")


def serial_log(vm: str) -> str:
    """Where the host keeps what VM `vm`'s serial console wrote (libvirt's own log directory,
    rotated there by virtlogd)."""
    return f"/var/log/libvirt/qemu/{vm}-serial.log"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    elem = ET.SubElement(parent, tag, attrs)
    elem.text = text
    return elem


def nic_element(devices: ET.Element, mac: str, vlan: int, network: str,
                offload: bool) -> None:
    iface = ET.SubElement(devices, "interface", type="network")
    if mac:
        ET.SubElement(iface, "mac", address=mac)
    ET.SubElement(iface, "source", network=network, portgroup=f"vlan-{vlan}")
    ET.SubElement(iface, "model", type="virtio")
    if not offload:
        driver = ET.SubElement(iface, "driver")
        ET.SubElement(driver, "host", csum="off")


def rbd_disk_element(devices: ET.Element, name: str, target: str, rbd: RbdAccess,
                     device: str = "disk") -> None:
    disk = ET.SubElement(devices, "disk", type="network", device=device)
    if device == "cdrom":
        ET.SubElement(disk, "driver", name="qemu", type="raw")
    else:
        ET.SubElement(disk, "driver", name="qemu", type="raw", cache="writeback",
                      discard="unmap")
    source = ET.SubElement(disk, "source", protocol="rbd", name=name)
    for monitor in rbd.monitors:
        ET.SubElement(source, "host", name=monitor, port="6789")
    auth = ET.SubElement(disk, "auth", username=rbd.user)
    ET.SubElement(auth, "secret", type="ceph", uuid=rbd.secret_uuid)
    ET.SubElement(disk, "target", dev=target, bus="scsi" if device == "cdrom" else "virtio")
    if device == "cdrom":
        ET.SubElement(disk, "readonly")
