"""HA's light check on libvirt's test driver: what it reads per check. Each libvirt call over
qemu+ssh is a round trip; a check must not make one per VM, or latency makes checks time out
(issue 13 §3: at 100 ms, hosts were declared lost)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import libvirt  # type: ignore[import-untyped]
import pytest

from mvm_tui.backends.libvirt.failover import CheckCache, KeptDefinitions, light_check
from mvm_tui.models import PowerState

XML = """<domain type='test'><name>{name}</name><memory unit='MiB'>128</memory>
<vcpu>1</vcpu><os><type>hvm</type></os></domain>"""


@pytest.fixture
def conn() -> Iterator[Any]:
    c = libvirt.open("test:///default")
    for i in range(8):
        c.defineXML(XML.format(name=f"vm-{i}")).create()
    yield c
    c.close()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counted: Counter[str] = Counter()
    for cls, name in ((libvirt.virDomain, "XMLDesc"), (libvirt.virDomain, "state"),
                      (libvirt.virConnect, "getAllDomainStats"),
                      (libvirt.virConnect, "listAllDomains"),
                      (libvirt.virConnect, "getInfo")):
        original = getattr(cls, name)

        def wrapper(self: Any, *args: Any, _o: Any = original, _n: str = name) -> Any:
            counted[_n] += 1
            if _n == "XMLDesc":
                counted[f"XMLDesc {self.name()}"] += 1
            return _o(self, *args)

        monkeypatch.setattr(cls, name, wrapper)
    return counted


def test_a_check_reads_every_state_at_once_and_few_definitions(
    conn: Any, calls: Counter[str]
) -> None:
    cache, kept = CheckCache(), KeptDefinitions()
    first = light_check(conn, "h1", kept, 0.0, cache)
    assert len(first.vms) == 9  # the test driver's own "test" and ours
    assert all(kept.get(v.name) is not None for v in first.vms)
    calls.clear()
    for t in range(1, 6):
        again = light_check(conn, "h1", kept, float(t), cache)
        assert [(v.name, v.power) for v in again.vms] == [(v.name, v.power) for v in first.vms]
    # 5 checks: one state call each, 2 definitions each in turn, no per-VM state call
    assert calls["getAllDomainStats"] == 5
    assert calls["state"] == 0
    assert calls["XMLDesc"] <= 5 * 2
    assert calls["getInfo"] == 0
    assert calls["listAllDomains"] == 0


def test_a_changed_state_a_new_vm_and_a_forgotten_one_are_read_at_once(
    conn: Any, calls: Counter[str]
) -> None:
    cache, kept = CheckCache(), KeptDefinitions()
    light_check(conn, "h1", kept, 0.0, cache)
    conn.lookupByName("vm-3").destroy()
    conn.defineXML(XML.format(name="vm-new"))
    poll = {v.name: v.power for v in light_check(conn, "h1", kept, 1.0, cache).vms}
    assert poll["vm-3"] is PowerState.SHUTOFF
    assert poll["vm-new"] is PowerState.SHUTOFF
    assert kept.get("vm-new") is not None
    conn.lookupByName("vm-5").destroy()
    conn.lookupByName("vm-5").undefine()
    assert "vm-5" not in {v.name for v in light_check(conn, "h1", kept, 2.0, cache).vms}
    calls.clear()
    cache.forget("vm-1")
    light_check(conn, "h1", kept, 3.0, cache)
    assert calls["XMLDesc vm-1"] == 1  # read again at once (this process changed it)
    assert calls["XMLDesc"] <= 1 + 2  # and the two in turn


def test_removing_a_copy_that_is_transient_or_gone_succeeds(conn: Any) -> None:
    """The soak found an unfence failing at "remove the stale copy": the copy a failed
    migration left was transient, gone once destroyed ("Domain not found" at the next call)."""
    from mvm_tui.backends.libvirt.failover import remove

    conn.createXML(XML.format(name="incoming"), 0)  # transient, as a migration's destination
    remove(conn, "incoming")
    assert "incoming" not in [d.name() for d in conn.listAllDomains()]
    remove(conn, "incoming")  # not here at all
