"""The poll reads a domain's XML once per change (domcache.py, changes.py), on libvirt's test
driver: nothing changed, no XMLDesc; a change libvirt signals, or one this application made,
is read at the next poll; the age bound, a disagreeing stats record and a reconnect make it
read again."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.libvirt import LibvirtHost, LibvirtNode, LifecycleEvent
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.backends.libvirt.changes import DomainChanges
from mvm_tui.backends.libvirt.domcache import MAX_AGE, DomainCache
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.clock import within
from mvm_tui.models import Placement, PowerAction, PowerState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"
WAIT = 10.0
NEW = """<domain type='test'><name>new-01</name><memory unit='MiB'>256</memory>
<vcpu>3</vcpu><os><type>hvm</type></os></domain>"""


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def xml_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """XMLDesc calls, by domain name (the poll runs on this process's worker threads)."""
    reads: Counter[str] = Counter()
    original = libvirt.virDomain.XMLDesc

    def spy(self: Any, *args: Any) -> Any:
        reads[str(self.name())] += 1
        return original(self, *args)

    monkeypatch.setattr(libvirt.virDomain, "XMLDesc", spy)
    return reads


@pytest.fixture
async def setup() -> AsyncIterator[tuple[LibvirtNode, Clock, asyncio.Queue[LifecycleEvent]]]:
    events: asyncio.Queue[LifecycleEvent] = asyncio.Queue()
    clock = Clock()
    node = LibvirtNode(LibvirtHost("hv1", URI, on_event=events.put), monotonic=clock)
    yield node, clock, events
    await node.close()


Setup = tuple[LibvirtNode, Clock, asyncio.Queue[LifecycleEvent]]


async def first_poll(node: LibvirtNode, reads: Counter[str]) -> dict[str, Any]:
    vms = {v.name: v for v in (await node.poll()).vms}
    assert sum(reads.values()) == 3  # every domain read once
    reads.clear()
    return vms


async def polled(node: LibvirtNode) -> dict[str, Any]:
    return {v.name: v for v in (await node.poll()).vms}


async def event(events: asyncio.Queue[LifecycleEvent], vm: str, kind: str) -> None:
    """Until the application heard of it: libvirt noted the change before (changes.py)."""
    while True:
        ev = await within(events.get(), WAIT)
        if (ev.vm, ev.kind) == (vm, kind):
            return


async def test_nothing_changed_reads_no_xml(setup: Setup, xml_reads: Counter[str]) -> None:
    node, clock, _ = setup
    first = await first_poll(node, xml_reads)
    for _ in range(3):
        clock.t += 2
        assert await polled(node) == first
    assert xml_reads == Counter()


async def test_a_new_domain_is_read_alone(setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, _ = setup
    await first_poll(node, xml_reads)
    await node.host.run(lambda c: c.defineXML(NEW) and None)
    vms = await polled(node)
    assert (vms["new-01"].vcpus, vms["new-01"].memory_mb) == (3, 256)
    assert xml_reads == Counter({"new-01": 1})


async def test_an_undefined_domain_is_gone(setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, _ = setup
    await first_poll(node, xml_reads)
    await node.host.run(lambda c: c.lookupByName("db-01").undefine())
    assert set(await polled(node)) == {"web-01", "web-02"}
    assert xml_reads == Counter()


async def test_a_placement_written_by_the_application_is_read_at_once(
        setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, _ = setup
    await first_poll(node, xml_reads)
    await node.set_placement("web-02", Placement.FAILOVER, "hv2")
    vm = (await polled(node))["web-02"]
    assert (vm.placement, vm.home_host) == (Placement.FAILOVER, "hv2")
    assert xml_reads == Counter({"web-02": 1})


async def test_a_metadata_change_made_elsewhere_is_read_after_its_event(
        setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, events = setup
    await first_poll(node, xml_reads)

    def change(c: Any) -> None:  # as `virsh metadata` would, then a redefinition after it
        c.lookupByName("web-02").setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT, '<placement strategy="pinned" home="hv9"/>',
            "mvm", "https://mvm-tui.dev/xmlns/placement/1", libvirt.VIR_DOMAIN_AFFECT_LIVE)
        c.defineXML(NEW)

    await node.host.run(change)
    await event(events, "new-01", "defined")  # (libvirt sends its events in order)
    vm = (await polled(node))["web-02"]
    assert (vm.placement, vm.home_host) == (Placement.PINNED, "hv9")
    assert xml_reads == Counter({"web-02": 1, "new-01": 1})


async def test_vcpus_changed_and_redefined_are_read_after_the_event(
        setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, events = setup
    await first_poll(node, xml_reads)

    def resize(c: Any) -> None:
        dom = c.lookupByName("db-01")
        dom.setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        c.defineXML(dom.XMLDesc(0))

    await node.host.run(resize)
    await event(events, "db-01", "defined")
    xml_reads.clear()
    assert (await polled(node))["db-01"].vcpus == 2
    assert xml_reads == Counter({"db-01": 1})


async def test_a_started_domain_is_read_again(setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, events = setup
    await first_poll(node, xml_reads)
    await node.power("db-01", PowerAction.START)
    await event(events, "db-01", "started")
    assert (await polled(node))["db-01"].power is PowerState.RUNNING
    assert xml_reads == Counter({"db-01": 1})


async def test_a_change_no_event_reports_is_read_within_the_age_bound(
        setup: Setup, xml_reads: Counter[str]) -> None:
    node, clock, _ = setup
    await first_poll(node, xml_reads)
    await node.host.run(lambda c: c.lookupByName("db-01").setVcpusFlags(
        2, libvirt.VIR_DOMAIN_AFFECT_CONFIG))  # (the test driver sends no event for it)
    clock.t += MAX_AGE / 2 - 1  # younger than any bound
    assert (await polled(node))["db-01"].vcpus == 4
    assert xml_reads == Counter()
    clock.t += MAX_AGE / 2 + 2  # older than any
    assert (await polled(node))["db-01"].vcpus == 2
    assert xml_reads == Counter({"web-01": 1, "web-02": 1, "db-01": 1})


async def test_a_reconnect_reads_everything_again(
        setup: Setup, xml_reads: Counter[str]) -> None:
    node, _, _ = setup
    await first_poll(node, xml_reads)
    host = node.host
    assert isinstance(host, LibvirtHost)
    assert host._link is not None
    host.connection_closed(host._link, libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE)
    await node.poll()
    assert host.generation == 2
    assert xml_reads == Counter({"web-01": 1, "web-02": 1, "db-01": 1})


# -- the stats record as a safety net


class Domain:
    """A domain as the cache sees it: its XML, and how often it was asked for it."""

    def __init__(self, xml: str) -> None:
        self.xml, self.reads = xml, 0

    def XMLDesc(self, _flags: int) -> str:
        self.reads += 1
        return self.xml


XML = """<domain><name>a</name><uuid>u1</uuid><memory unit='KiB'>2097152</memory>
<vcpu>2</vcpu><devices><disk device='disk'><target dev='vda'/></disk>
<disk device='cdrom'><target dev='sda'/></disk></devices></domain>"""
AGREES = {"state.state": 1, "balloon.maximum": 2097152, "block.count": 2,
          "block.0.name": "vda", "block.1.name": "sda"}


@pytest.mark.parametrize(("change", "reads"), [
    ({}, 1),
    ({"state.state": 5}, 2),
    ({"balloon.maximum": 4194304}, 2),  # memory resized
    ({"block.count": 3, "block.2.name": "vdb"}, 2),  # a disk added
    ({"block.count": 1, "block.0.name": "sda"}, 2),  # vda removed
])
def test_a_record_that_disagrees_makes_it_read_again(change: dict[str, Any],
                                                      reads: int) -> None:
    cache, dom = DomainCache(), Domain(XML)
    cache.sync(DomainChanges())
    assert cache.spec(dom, "u1", AGREES, 0.0).memory_mb == 2048
    cache.spec(dom, "u1", AGREES | change, 1.0)
    assert dom.reads == reads


def test_a_change_noted_makes_it_read_again() -> None:
    cache, dom, changes = DomainCache(), Domain(XML), DomainChanges()
    cache.sync(changes)
    cache.spec(dom, "u1", AGREES, 0.0)
    changes.mark("u1")
    cache.sync(changes)
    cache.spec(dom, "u1", AGREES, 1.0)
    assert dom.reads == 2


# -- where libvirt runs apart: the cache lives there


def reads_of(conn: Any, domains: Resident[DomainCache]) -> int:
    return domains.get().reads


async def test_the_cache_lives_in_libvirts_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # (its crash traces)
    apart = LibvirtApart("lab")
    try:
        node = LibvirtNode(apart.host("hv1", URI))
        assert node.domains is not None
        count = partial(reads_of, domains=node.domains)
        await node.poll()
        assert await node.host.run(count) == 3
        await node.poll()
        assert await node.host.run(count) == 3
        await node.set_placement("web-01", Placement.AUTO, None)
        vm = next(v for v in (await node.poll()).vms if v.name == "web-01")
        assert (vm.placement, vm.home_host) == (Placement.AUTO, None)
        assert await node.host.run(count) == 4
    finally:
        await apart.close()


async def test_without_change_events_every_poll_reads_every_domain(
        xml_reads: Counter[str]) -> None:
    node = LibvirtNode(LibvirtHost("hv1", URI, track_changes=False))  # (as HA's connections)
    try:
        await node.poll()
        await node.poll()
        assert xml_reads == Counter({"web-01": 2, "web-02": 2, "db-01": 2})
    finally:
        await node.close()
