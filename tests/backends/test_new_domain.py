"""A new VM's domain XML (backends/libvirt/new_domain.py): libvirt itself (its test driver)
defines it and gives back the maximums, slots, devices and placement asked for, and the
inventory's own parser reads it as made. The spec's checks name the field at fault."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.backends.libvirt.new_domain import AGENT_CHANNEL, RbdAccess, domain_xml
from mvm_tui.core.vm_spec import DiskSpec, NicSpec, VmSpec, problems
from mvm_tui.models import Placement

RBD = RbdAccess(monitors=("10.0.0.1", "10.0.0.2"), user="libvirt",
                secret_uuid="6d7e1d3a-3c2f-4a34-9d0e-6d766c61622e")
SPEC = VmSpec(name="web-1", vcpus=2, memory_mb=4096,
              disks=(DiskSpec(40, "vms", "web-1-root"), DiskSpec(100, "vms", "web-1-data")),
              nics=(NicSpec(22), NicSpec(23, "52:54:00:aa:bb:cc")),
              placement=Placement.FAILOVER, seed="vms/vm.web-1.seed")


@pytest.fixture
def conn() -> Iterator[libvirt.virConnect]:
    c = libvirt.open("test:///default")
    yield c
    c.close()


def test_libvirt_defines_it_with_the_maximums_and_devices_asked_for(
        conn: libvirt.virConnect) -> None:
    dom = conn.defineXML(domain_xml(SPEC, RBD, "br-compute"))
    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert root.findtext("vcpu") == "8"  # 2 x the headroom of 4
    assert root.find("vcpu").get("current") == "2"  # type: ignore[union-attr]
    max_memory = root.find("maxMemory")
    assert max_memory is not None
    assert (max_memory.get("slots"), int(max_memory.text or 0)) == ("16", 16384 * 1024)
    assert root.find("cpu/numa/cell").get("cpus") == "0-7"  # type: ignore[union-attr]
    disks = root.findall("devices/disk[@device='disk']")
    assert [d.find("source").get("name") for d in disks] == [  # type: ignore[union-attr]
        "vms/web-1-root", "vms/web-1-data"]
    assert all(d.find("auth/secret").get("uuid") == RBD.secret_uuid  # type: ignore[union-attr]
               for d in disks)
    cdrom = root.find("devices/disk[@device='cdrom']")
    assert cdrom is not None
    assert cdrom.find("readonly") is not None
    assert cdrom.find("source").get("name") == SPEC.seed  # type: ignore[union-attr]
    # on virtio-scsi: Debian's cloud kernel has no AHCI driver, so a SATA CD-ROM is not seen
    assert cdrom.find("target").get("bus") == "scsi"  # type: ignore[union-attr]
    assert root.find("devices/controller[@type='scsi']").get(  # type: ignore[union-attr]
        "model") == "virtio-scsi"
    ports = [i.find("source").get("portgroup")  # type: ignore[union-attr]
             for i in root.findall("devices/interface")]
    assert ports == ["vlan-22", "vlan-23"]
    assert root.find("devices/channel/target").get("name") == AGENT_CHANNEL  # type: ignore[union-attr]
    assert {c.find("target").get("type")  # type: ignore[union-attr]
            for c in root.findall("devices/console")} == {"serial", "virtio"}
    assert "failover" in dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                                      "https://mvm-tui.dev/xmlns/placement/1")


def test_the_inventory_reads_it_as_made(conn: libvirt.virConnect) -> None:
    dom = conn.defineXML(domain_xml(SPEC, RBD, "br-compute"))
    seen = parse_domain(dom.XMLDesc(0))
    assert (seen.name, seen.vcpus, seen.memory_mb) == ("web-1", 2, 4096)
    assert [d.source for d in seen.disks if d.target.startswith("vd")] == [
        "rbd:vms/web-1-root", "rbd:vms/web-1-data"]
    assert [(n.network, n.mac or None) for n in seen.nics] == [
        ("br-compute", seen.nics[0].mac), ("br-compute", "52:54:00:aa:bb:cc")]
    assert seen.placement is Placement.FAILOVER


def test_hostile_values_are_escaped_not_interpreted() -> None:
    spec = VmSpec(name="a", vcpus=1, memory_mb=512,
                  disks=(DiskSpec(1, "vms", "x"),), seed="vms/a'b<c>&.seed")
    root = ET.fromstring(domain_xml(spec, RBD, "br"))
    assert root.find("devices/disk[@device='cdrom']/source").get(  # type: ignore[union-attr]
        "name") == "vms/a'b<c>&.seed"


def test_each_problem_names_its_field() -> None:
    bad = VmSpec(name="web 1", vcpus=0, memory_mb=63, headroom=0,
                 disks=(DiskSpec(0, "vms", "ok"), DiskSpec(10, "v ms", "ok")),
                 nics=(NicSpec(99), NicSpec(22, "nope")))
    assert set(problems(bad, vlans=(22, 23))) == {
        "name", "vcpus", "memory_mb", "headroom", "disks[0].size_gb", "disks[1].pool",
        "nics[0].vlan", "nics[1].mac"}
    assert problems(SPEC, vlans=(22, 23)) == {}
    assert "a VM needs its root disk" in problems(VmSpec("a", 1, 512, disks=()))["disks"]


@pytest.mark.parametrize(("vcpus", "memory_mb", "headroom", "max_vcpus", "max_memory_mb"), [
    (2, 4096, 4, 8, 16384),
    (1, 1000, 4, 4, 3944),  # whole 128 MiB DIMMs above the size
    (200, 8192, 4, 256, 32768),  # at most 256 vCPUs
    (4, 4096, 1, 4, 4096),  # no headroom: nothing to grow into live
])
def test_the_maximums(vcpus: int, memory_mb: int, headroom: int, max_vcpus: int,
                      max_memory_mb: int) -> None:
    spec = VmSpec("a", vcpus, memory_mb, disks=(), headroom=headroom)
    assert (spec.max_vcpus, spec.max_memory_mb) == (max_vcpus, max_memory_mb)
    assert (spec.max_memory_mb - spec.memory_mb) % 128 == 0


def test_on_a_userspace_datapath_the_nics_offer_no_checksum_offload(
        conn: libvirt.virConnect) -> None:
    kernel = ET.fromstring(domain_xml(SPEC, RBD, "br"))
    assert kernel.find("devices/interface/driver") is None
    dom = conn.defineXML(domain_xml(SPEC, RBD, "br", nic_offload=False))
    netdev = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    hosts = [i.find("driver/host") for i in netdev.findall("devices/interface")]
    assert [h.get("csum") for h in hosts if h is not None] == ["off", "off"]
