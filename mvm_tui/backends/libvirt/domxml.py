"""What the application needs from a domain's XML: size, disks, NICs, graphics and placement.

The XML comes from libvirtd (dom.XMLDesc()), so xml.etree is used as it is (defusedxml is not
available); nothing here parses XML from anywhere else.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal

from mvm_tui.backends.libvirt.metadata import placement_from_domain
from mvm_tui.models import GraphicsConsole, Nic, Placement

_UNITS = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "k": 1024,
    "kib": 1024,
    "mb": 1000**2,
    "m": 1024**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "g": 1024**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "t": 1024**4,
    "tib": 1024**4,
}
MIB = 1024**2
_GRAPHICS: dict[str, Literal["vnc", "spice"]] = {"vnc": "vnc", "spice": "spice"}


@dataclass(frozen=True)
class DiskXml:
    target: str  # "vda"
    source: str  # "/path/file.qcow2", "rbd:pool/image", "" (no medium)
    bus: str


@dataclass(frozen=True)
class DomainXml:
    name: str
    uuid: str
    vcpus: int
    memory_mb: int  # <memory>: the most the guest can have
    current_memory_mb: int  # <currentMemory>: what it has now (balloon)
    disks: tuple[DiskXml, ...]
    nics: tuple[Nic, ...]
    placement: Placement
    home_host: str | None
    priority: int = 0
    block_targets: frozenset[str] = frozenset()  # every <disk>'s target, cdroms too
    graphics: tuple[GraphicsConsole, ...] = ()  # VNC and SPICE displays


def _bytes(elem: ET.Element | None) -> int:
    if elem is None or not (elem.text or "").strip():
        return 0
    unit = elem.get("unit", "KiB").lower()
    try:
        return int(elem.text or "0") * _UNITS.get(unit, 1024)
    except ValueError:
        return 0


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def disk_source(disk: ET.Element) -> str:
    """A disk's source as a short string: the file or device path, "rbd:pool/image" for a
    Ceph RBD network disk, "<protocol>:<name>" for other network disks."""
    src = disk.find("source")
    if src is None:
        return ""
    kind = disk.get("type", "file")
    if kind == "network":
        protocol = src.get("protocol", "network")
        return f"{protocol}:{src.get('name', '')}"
    if kind == "volume":
        return f"{src.get('pool', '')}/{src.get('volume', '')}"
    for attr in ("file", "dev", "dir", "name"):
        value = src.get(attr)
        if value:
            return value
    return ""


def parse_disks(devices: ET.Element | None) -> tuple[DiskXml, ...]:
    disks: list[DiskXml] = []
    for disk in devices.findall("disk") if devices is not None else ():
        if disk.get("device", "disk") not in ("disk", "lun"):
            continue  # cdrom and floppy drives are not the VM's disks
        target = disk.find("target")
        dev = target.get("dev", "") if target is not None else ""
        bus = (target.get("bus") if target is not None else None) or "virtio"
        disks.append(DiskXml(target=dev, source=disk_source(disk), bus=bus))
    return tuple(disks)


def parse_nics(devices: ET.Element | None) -> tuple[Nic, ...]:
    nics: list[Nic] = []
    for iface in devices.findall("interface") if devices is not None else ():
        mac = iface.find("mac")
        src = iface.find("source")
        network = ""
        if src is not None:
            network = src.get("bridge") or src.get("network") or src.get("dev") or ""
        tag = iface.find("vlan/tag")
        vlan = _int(tag.get("id"), -1) if tag is not None else -1
        model = iface.find("model")
        nics.append(
            Nic(
                mac=mac.get("address", "") if mac is not None else "",
                network=network,
                vlan=vlan if vlan >= 0 else None,
                model=(model.get("type") if model is not None else None) or "virtio",
            )
        )
    return tuple(nics)


def _port(text: str | None) -> int | None:
    """A graphics port attribute: None when absent, -1 (not assigned) or not a port."""
    port = _int(text, -1)
    return port if 0 < port < 65536 else None


def parse_graphics(devices: ET.Element | None) -> tuple[GraphicsConsole, ...]:
    """The VNC and SPICE displays (other kinds cannot be reached from afar). A running
    domain's live XML has the ports libvirt assigned (autoport) and the address it listens
    on, e.g. `<graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1'><listen
    type='address' address='127.0.0.1'/></graphics>`; an inactive one port='-1'. A display
    on a unix socket (`<listen type='socket' socket='...'/>`, or VNC's older socket='...'
    attribute) has no port; one with `<listen type='none'/>` listens nowhere and is left out."""
    consoles: list[GraphicsConsole] = []
    for g in devices.findall("graphics") if devices is not None else ():
        kind = _GRAPHICS.get(g.get("type", ""))
        if kind is None:
            continue
        listen = g.find("listen")
        how = listen.get("type", "address") if listen is not None else ""
        if how == "none":
            continue
        socket = (listen.get("socket") if listen is not None else None) or g.get("socket")
        if how == "socket" or (not how and socket):  # ("": its path is made when it starts)
            consoles.append(GraphicsConsole(kind=kind, socket=socket or ""))
            continue
        # type 'address', or 'network' (its live XML has the network's address)
        address = (listen.get("address") if listen is not None else None) or g.get("listen")
        consoles.append(GraphicsConsole(
            kind=kind, port=_port(g.get("port")),
            tls_port=_port(g.get("tlsPort")) if kind == "spice" else None,
            listen=address or ""))
    return tuple(consoles)


def domain_root(xml: str) -> ET.Element:
    """The <domain> element of dom.XMLDesc(); ValueError when it is not a domain's XML."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ValueError(f"unreadable domain XML: {exc}") from exc
    if root.tag != "domain":
        raise ValueError(f"not a domain's XML: <{root.tag}>")
    return root


def parse_domain(xml: str) -> DomainXml:
    """Parse dom.XMLDesc(). Raises ValueError when it is not a domain's XML."""
    root = domain_root(xml)
    vcpu = root.find("vcpu")
    vcpus = 0
    if vcpu is not None:
        vcpus = _int(vcpu.get("current"), 0) or _int((vcpu.text or "").strip(), 0)
    memory = _bytes(root.find("memory"))
    current = _bytes(root.find("currentMemory")) or memory
    devices = root.find("devices")
    placement, home, priority = placement_from_domain(root)
    return DomainXml(
        name=(root.findtext("name") or "").strip(),
        uuid=(root.findtext("uuid") or "").strip(),
        vcpus=max(vcpus, 1),
        memory_mb=memory // MIB,
        current_memory_mb=current // MIB,
        disks=parse_disks(devices),
        nics=parse_nics(devices),
        placement=placement,
        home_host=home,
        priority=priority,
        block_targets=frozenset(
            t.get("dev", "") for t in root.findall("devices/disk/target")),
        graphics=parse_graphics(devices),
    )
