"""A VM's domain XML read and rewritten for a change (backends/libvirt/domain_change.py).
libvirt itself (its test driver) takes what is written: the definition for the next boot with
its memory modules folded in, and the devices attached; the shape is read from the XML libvirt
gives back, and from XML captured in the lab (tests/fixtures/libvirt/README.md says how).
libvirt's test driver cannot attach devices: the lab test (test_lab_workload) does that."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.libvirt import domain_change as dc
from mvm_tui.backends.libvirt.new_domain import RbdAccess, domain_xml
from mvm_tui.core.vm_spec import DiskSpec, NicSpec, VmSpec

FIXTURES = Path(__file__).parent.parent / "fixtures" / "libvirt"
RBD = RbdAccess((), "libvirt", "6d7e1d3a-3c2f-4a34-9d0e-6d766c61622e")
SPEC = VmSpec(name="web-1", vcpus=2, memory_mb=2048, disks=(DiskSpec(20, "vms", "vm.web-1.disk0"),),
              nics=(NicSpec(22, "52:54:00:aa:bb:cc"),), seed="vms/vm.web-1.seed")


@pytest.fixture
def conn() -> Iterator[libvirt.virConnect]:
    c = libvirt.open("test:///default")
    yield c
    c.close()


def test_a_new_vm_reads_as_made() -> None:
    xml = domain_xml(SPEC, RBD, "br-compute")
    shape = dc.parse_shape(xml, xml, running=False, pool="vms")
    assert (shape.vcpus, shape.max_vcpus, shape.memory_mb, shape.max_memory_mb) == (
        2, 8, 2048, 8192)
    assert (shape.free_slots, shape.pending) == (16, "")
    assert [(d.target, d.image, d.cdrom) for d in shape.disks] == [
        ("vda", "vm.web-1.disk0", False), ("sda", "vm.web-1.seed", True)]
    assert [(n.mac, n.vlan) for n in shape.nics] == [("52:54:00:aa:bb:cc", 22)]


def test_the_next_boot_definition_is_taken_by_libvirt(conn: libvirt.virConnect) -> None:
    made = domain_xml(SPEC, RBD, "br-compute")
    with_module = made.replace("</devices>", dc.memory_module_xml(512) + "</devices>")
    with_module = with_module.replace('<memory unit="MiB">2048', '<memory unit="MiB">2560')
    conn.defineXML(with_module)
    config = conn.lookupByName("web-1").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert dc.parse_shape(config, config, False, "vms").free_slots == 15

    dom = conn.defineXML(dc.next_boot_xml(config, 12, 3072))
    again = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    shape = dc.parse_shape(again, again, False, "vms")
    # more vCPUs than the maximum raise it; the module is folded into the base memory
    assert (shape.vcpus, shape.max_vcpus, shape.memory_mb, shape.free_slots) == (
        12, 12, 3072, 16)
    cell = ET.fromstring(again).find("cpu/numa/cell")
    assert cell is not None
    assert cell.get("cpus") == "0-11"


def test_memory_above_the_maximum_raises_it_to_whole_modules() -> None:
    made = domain_xml(SPEC, RBD, "br-compute")
    shape = dc.parse_shape(dc.next_boot_xml(made, 2, 9000), made, False, "vms")
    assert (shape.memory_mb, shape.max_memory_mb) == (9000, 9088)  # 71 x 128


def test_a_device_is_found_by_target_or_mac_with_its_alias() -> None:
    live = (FIXTURES / "wl-1-hotplugged-live.xml").read_text()
    xml, alias = dc.device_of(live, mac=dc.parse_shape(live, live, True, "vms").nics[0].mac)
    assert xml.startswith("<interface")
    assert alias.startswith("net")
    xml, alias = dc.device_of(live, target="vda")
    assert "vm.wl-1.disk0" in xml
    assert alias == "virtio-disk0"
    with pytest.raises(ValueError, match="no device vdq"):
        dc.device_of(live, target="vdq")


def test_a_vm_changed_live_in_the_lab_reads_as_it_is() -> None:
    live = (FIXTURES / "wl-1-hotplugged-live.xml").read_text()
    config = (FIXTURES / "wl-1-hotplugged-inactive.xml").read_text()
    shape = dc.parse_shape(live, config, True, "vms")
    assert (shape.vcpus, shape.memory_mb, shape.free_slots, shape.pending) == (
        2, 1024, 15, "")
    pending = dc.parse_shape((FIXTURES / "wl-1-pending-live.xml").read_text(),
                             (FIXTURES / "wl-1-pending-inactive.xml").read_text(), True, "vms")
    assert (pending.memory_mb, pending.next_memory_mb) == (1024, 3200)
    assert pending.pending == "pending restart: 2 vCPUs, 3200 MiB at its next boot"


def test_a_restart_priority_is_kept_in_the_definition(conn: libvirt.virConnect) -> None:
    from dataclasses import replace

    from mvm_tui.backends.libvirt.domxml import parse_domain

    dom = conn.defineXML(domain_xml(replace(SPEC, priority=50), RBD, "br-compute"))
    assert parse_domain(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).priority == 50


def test_a_copy_has_its_name_uuid_disks_and_macs_and_a_rename_keeps_the_macs() -> None:
    made = domain_xml(SPEC, RBD, "br-compute")
    renames = {"vm.web-1.disk0": "vm.web-2.disk0", "vm.web-1.seed": "vm.web-2.seed"}
    copy = dc.copy_xml(made, "web-2", "0000-2", "vms", renames, ["52:54:00:00:00:02"])
    shape = dc.parse_shape(copy, copy, False, "vms")
    root = ET.fromstring(copy)
    assert (root.findtext("name"), root.findtext("uuid")) == ("web-2", "0000-2")
    assert [d.image for d in shape.disks] == ["vm.web-2.disk0", "vm.web-2.seed"]
    assert [n.mac for n in shape.nics] == ["52:54:00:00:00:02"]
    renamed = dc.parse_shape(dc.copy_xml(made, "web-3", SPEC.uuid, "vms", {}, None),
                             made, False, "vms")
    assert [n.mac for n in renamed.nics] == ["52:54:00:aa:bb:cc"]
