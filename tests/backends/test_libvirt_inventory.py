"""Facts, load and VMs of a host from libvirt's test driver; domain XML; rates; placement."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.base import BackendError, NotFound
from mvm_tui.backends.libvirt import LibvirtHost, LibvirtNode, PlacementData
from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.backends.libvirt.inventory import power_state, version_string
from mvm_tui.backends.libvirt.metadata import (
    NS_URI,
    parse_placement_xml,
    placement_xml,
)
from mvm_tui.backends.libvirt.stats import StatsTracker, mem_used_mb
from mvm_tui.models import Disk, MemSource, Nic, Placement, PowerAction, PowerState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"
GIB = 1024**3


@pytest.fixture
async def node() -> AsyncIterator[LibvirtNode]:
    n = LibvirtNode(LibvirtHost("hv1", URI), clock=lambda: 1000.0)
    yield n
    await n.close()


# -- a whole poll on the test driver


async def test_facts(node: LibvirtNode) -> None:
    nf = await node.facts()
    assert nf.hostname  # the test driver answers with the local host name
    assert nf.cpu_model == "x86_64"
    assert (nf.facts.vcpus, nf.facts.memory_mb) == (8, 32768)
    assert nf.facts.libvirt_version == version_string(libvirt.getVersion())


async def test_poll_maps_every_domain(node: LibvirtNode) -> None:
    poll = await node.poll()
    assert poll.facts.vcpus == 8
    assert poll.metrics.time == 1000.0
    assert 0.0 <= poll.metrics.cpu_pct <= 100.0
    vms = {v.name: v for v in poll.vms}
    assert set(vms) == {"web-01", "web-02", "db-01"}
    web = vms["web-01"]
    assert web.uuid == "8f0c6a52-1b7e-4b8e-9d55-0a0000000001"
    assert (web.host, web.power, web.vcpus, web.memory_mb) == ("hv1", PowerState.RUNNING, 2, 2048)
    assert (web.placement, web.home_host) == (Placement.PINNED, "hv1")
    assert web.mem_used_mb == 1536  # no balloon stats on the test driver: its current memory
    # the test driver sizes every disk at 1 TiB; the cdrom without a medium is not a disk
    assert web.disks == (
        Disk(target="vda", source="rbd:vms/web-01", size_gb=1024.0, bus="virtio"),
        Disk(
            target="vdb",
            source="/var/lib/libvirt/images/web-01-data.qcow2",
            size_gb=1024.0,
            bus="virtio",
        ),
    )
    assert web.nics == (Nic(mac="52:54:00:aa:00:01", network="br-vm", vlan=100, model="virtio"),)
    two = vms["web-02"]
    assert two.nics == (
        Nic(mac="52:54:00:aa:00:02", network="br-vm", vlan=100),
        Nic(mac="52:54:00:aa:00:03", network="default", vlan=None, model="e1000"),
    )
    assert (two.placement, two.home_host) == (Placement.AUTO, None)
    db = vms["db-01"]
    assert (db.power, db.vcpus, db.memory_mb, db.mem_used_mb) == (PowerState.SHUTOFF, 4, 4096, 0)
    assert db.disks[0].bus == "scsi"
    assert db.nics[0].vlan == 200
    # host memory: the test driver has no node memory stats, so the running VMs' memory
    assert poll.metrics.mem_used_mb == 1536 + 1024


async def test_first_poll_has_no_rates(node: LibvirtNode) -> None:
    for poll in (await node.poll(), await node.poll()):
        for vm in poll.vms:
            assert (vm.cpu_pct, vm.disk_rd_bps, vm.net_tx_bps) == (0.0, 0.0, 0.0)


async def test_vm_info(node: LibvirtNode) -> None:
    vm = await node.vm_info("db-01")
    assert (vm.name, vm.host, vm.power) == ("db-01", "hv1", PowerState.SHUTOFF)
    await node.power("db-01", PowerAction.START)
    assert (await node.vm_info("db-01")).power is PowerState.RUNNING


async def test_vm_info_of_an_unknown_vm(node: LibvirtNode) -> None:
    with pytest.raises(NotFound, match="hv1: look up nope: Domain not found"):
        await node.vm_info("nope")


# -- placement in the domain's <metadata>


async def test_placement_round_trip(node: LibvirtNode) -> None:
    assert await node.placement("web-02") == PlacementData(Placement.AUTO, None)
    await node.set_placement("web-02", Placement.FAILOVER, "hv2")
    assert await node.placement("web-02") == PlacementData(Placement.FAILOVER, "hv2")
    vm = await node.vm_info("web-02")  # read back from the whole domain XML
    assert (vm.placement, vm.home_host) == (Placement.FAILOVER, "hv2")

    def dump(conn: object) -> str:
        return str(conn.lookupByName("web-02").XMLDesc(0))  # type: ignore[attr-defined]

    root = ET.fromstring(await node.host.run(dump))
    elem = root.find(f"metadata/{{{NS_URI}}}placement")
    assert elem is not None
    assert elem.attrib == {"strategy": "failover", "home": "hv2"}
    await node.set_placement("web-02", Placement.AUTO, None)
    assert await node.placement("web-02") == PlacementData(Placement.AUTO, None)


async def test_placement_of_a_stopped_vm_survives_a_start(node: LibvirtNode) -> None:
    await node.set_placement("db-01", Placement.PINNED, "hv3")  # persistent config only
    await node.power("db-01", PowerAction.START)
    vm = await node.vm_info("db-01")
    assert (vm.power, vm.placement, vm.home_host) == (PowerState.RUNNING, Placement.PINNED, "hv3")


async def test_placement_of_a_running_vm_survives_a_restart(node: LibvirtNode) -> None:
    await node.set_placement("web-02", Placement.PINNED, "hv1")  # live and config
    await node.power("web-02", PowerAction.POWEROFF)
    await node.power("web-02", PowerAction.START)
    assert await node.placement("web-02") == PlacementData(Placement.PINNED, "hv1")


async def test_placement_errors(node: LibvirtNode) -> None:
    with pytest.raises(NotFound):
        await node.set_placement("nope", Placement.PINNED, "hv1")
    with pytest.raises(BackendError, match="home host"):
        await node.set_placement("web-01", Placement.PINNED, "bad\nname")


def test_placement_xml() -> None:
    assert (
        placement_xml(Placement.PINNED, 'h"1<')
        == '<placement strategy="pinned" home="h&quot;1&lt;" />'
    )
    assert parse_placement_xml(placement_xml(Placement.PINNED, 'h"1<')) == (
        "pinned", 'h"1<', 0)
    assert parse_placement_xml(placement_xml(Placement.AUTO, None, 50)) == (
        Placement.AUTO, None, 50)
    assert parse_placement_xml('<placement strategy="sideways"/>') == (Placement.AUTO, None, 0)
    assert parse_placement_xml('<placement priority="high"/>') == (Placement.AUTO, None, 0)
    assert parse_placement_xml("not xml") == (Placement.AUTO, None, 0)
    assert parse_placement_xml("<other/>") == (Placement.AUTO, None, 0)


# -- domain XML


def test_domain_xml() -> None:
    d = parse_domain(
        """<domain type='kvm'><name>x</name><uuid>u</uuid>
        <memory unit='KiB'>1048576</memory><vcpu current='2'>4</vcpu>
        <devices>
          <disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='sdb'/></disk>
          <disk type='volume' device='disk'><source pool='p' volume='v'/>
            <target dev='vdc' bus='virtio'/></disk>
          <disk type='network' device='disk'><source protocol='iscsi' name='iqn.x/1'/>
            <target dev='vdd' bus='virtio'/></disk>
          <disk type='file' device='floppy'><target dev='fda'/></disk>
          <interface type='direct'><mac address='52:54:00:00:00:09'/>
            <source dev='eth0' mode='bridge'/><vlan trunk='yes'><tag id='7'/><tag id='8'/></vlan>
          </interface>
          <interface type='user'/>
        </devices></domain>"""
    )
    assert (d.name, d.uuid, d.vcpus, d.memory_mb, d.current_memory_mb) == ("x", "u", 2, 1024, 1024)
    assert [(x.target, x.source, x.bus) for x in d.disks] == [
        ("sdb", "/dev/sdb", "virtio"),
        ("vdc", "p/v", "virtio"),
        ("vdd", "iscsi:iqn.x/1", "virtio"),
    ]
    assert d.nics == (
        Nic(mac="52:54:00:00:00:09", network="eth0", vlan=7),
        Nic(mac="", network="", vlan=None),
    )
    assert (d.placement, d.home_host) == (Placement.AUTO, None)
    with pytest.raises(ValueError, match="not a domain's XML: <network>"):
        parse_domain("<network/>")
    with pytest.raises(ValueError, match="unreadable domain XML"):
        parse_domain("<domain")


def test_power_states() -> None:
    assert power_state(libvirt.VIR_DOMAIN_RUNNING) is PowerState.RUNNING
    assert power_state(libvirt.VIR_DOMAIN_BLOCKED) is PowerState.RUNNING
    assert power_state(libvirt.VIR_DOMAIN_PAUSED) is PowerState.PAUSED
    assert power_state(libvirt.VIR_DOMAIN_SHUTDOWN) is PowerState.SHUTTING_DOWN
    assert power_state(libvirt.VIR_DOMAIN_SHUTOFF) is PowerState.SHUTOFF
    assert power_state(libvirt.VIR_DOMAIN_CRASHED) is PowerState.CRASHED
    assert power_state(99) is PowerState.UNKNOWN
    assert version_string(9000000) == "9.0.0"
    assert version_string(10010002) == "10.10.2"


# -- rates from the counters of getAllDomainStats


def record(cpu_s: float, rd: int, wr: int, rx: int, tx: int) -> dict[str, object]:
    return {
        "state.state": 1,
        "cpu.time": int(cpu_s * 1e9),
        "balloon.current": 2 * 1024 * 1024,
        "balloon.rss": 512 * 1024,
        "block.count": 2,
        "block.0.name": "vda",
        "block.0.rd.bytes": rd,
        "block.0.wr.bytes": wr,
        "block.0.capacity": 10 * GIB,
        "block.1.name": "vdb",
        "block.1.rd.bytes": rd,
        "block.1.wr.bytes": 0,
        "net.count": 1,
        "net.0.rx.bytes": rx,
        "net.0.tx.bytes": tx,
    }


def test_vm_rates_are_deltas() -> None:
    tr = StatsTracker()
    first = tr.vm_load("u", 100.0, record(50, 1000, 2000, 3000, 4000), vcpus=2)
    assert (first.cpu_pct, first.disk_rd_bps, first.net_rx_bps) == (0.0, 0.0, 0.0)
    # no figure from the guest: what it was given (balloon.current), never qemu's rss
    assert (first.mem_used_mb, first.mem_source) == (2048, MemSource.ALLOCATED)
    # 10 s later: 5 s of CPU on 2 vCPUs = 25 %, 2 disks x 1000 B/s read, ...
    load = tr.vm_load("u", 110.0, record(55, 11000, 7000, 8000, 4000), vcpus=2)
    assert load.cpu_pct == 25.0
    assert (load.disk_rd_bps, load.disk_wr_bps) == (2000.0, 500.0)
    assert (load.net_rx_bps, load.net_tx_bps) == (500.0, 0.0)
    # a restarted domain's counters start over: no negative rates, a new baseline
    load = tr.vm_load("u", 120.0, record(1, 0, 0, 0, 0), vcpus=2)
    assert (load.cpu_pct, load.disk_rd_bps, load.net_rx_bps) == (0.0, 0.0, 0.0)
    load = tr.vm_load("u", 130.0, record(21, 0, 0, 0, 0), vcpus=2)
    assert load.cpu_pct == 100.0


def test_a_look_without_record_keeps_the_baseline() -> None:
    tr = StatsTracker()
    tr.vm_load("u", 0.0, record(0, 0, 0, 0, 0), vcpus=1)
    tr.vm_load("u", 1.0, record(1, 0, 0, 0, 0), vcpus=1, record=False)
    assert tr.vm_load("u", 10.0, record(5, 0, 0, 0, 0), vcpus=1).cpu_pct == 50.0


def test_guest_memory_from_balloon() -> None:
    kib = 1024
    assert mem_used_mb({"balloon.available": 4096 * kib, "balloon.usable": 1024 * kib}) == 3072
    assert mem_used_mb({"balloon.current": 2048 * kib}) == 2048
    assert mem_used_mb({}) == 0


def test_host_cpu_from_node_counters() -> None:
    tr = StatsTracker()
    # first poll: the average since boot
    assert tr.host_cpu_pct({"kernel": 10, "user": 30, "idle": 50, "iowait": 10}) == 40.0
    assert tr.host_cpu_pct({"kernel": 20, "user": 60, "idle": 100, "iowait": 20}) == 40.0
    assert tr.host_cpu_pct({"kernel": 20, "user": 160, "idle": 100, "iowait": 20}) == 100.0
    assert tr.host_cpu_pct({"kernel": 20, "user": 160, "idle": 100, "iowait": 20}) == 0.0
    assert tr.host_cpu_pct({"utilization": 12.5}) == 12.5
