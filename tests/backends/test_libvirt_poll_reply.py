"""A poll's VMs cross from libvirt's process as what changed since the reply last received
(poll_reply.py): an unchanged VM goes as its UUID and is the same Vm here; a reply lost makes
the next one whole."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mvm_tui.backends.libvirt import LibvirtNode
from mvm_tui.backends.libvirt.apart import LibvirtApart
from mvm_tui.backends.libvirt.poll_reply import LastSent
from mvm_tui.models import HostFacts, HostMetrics, HostPoll, Placement, PowerState, Vm

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "libvirt" / "node.xml"
URI = f"test://{FIXTURE}"


def vm(name: str, cpu: float = 0.0) -> Vm:
    return Vm(name=name, uuid=f"u-{name}", host="hv1", power=PowerState.RUNNING, vcpus=1,
              memory_mb=512, cpu_pct=cpu)


def poll(*vms: Vm) -> HostPoll:
    return HostPoll(facts=HostFacts(vcpus=8, memory_mb=32768),
                    metrics=HostMetrics(time=1.0, cpu_pct=0.0, mem_used_mb=0), vms=vms)


def test_an_unchanged_vm_goes_as_its_uuid_and_comes_back_as_the_same_vm() -> None:
    sent = LastSent()
    a, b, c = vm("a"), vm("b"), vm("c")
    first = pickle.loads(pickle.dumps(sent.reply(poll(a, b), "")))
    assert first.vms == (a, b)  # the first is whole
    here = first.whole({})
    b2 = vm("b", cpu=5.0)
    reply = pickle.loads(pickle.dumps(sent.reply(poll(a, b2, c), first.token)))
    assert reply.vms == ("u-a", b2, c)
    again = reply.whole({v.uuid: v for v in here.vms})
    assert again == poll(a, b2, c)
    assert again.vms[0] is here.vms[0]


def test_a_reply_not_received_makes_the_next_whole() -> None:
    sent = LastSent()
    a = vm("a")
    first = sent.reply(poll(a), "")
    sent.reply(poll(a), first.token)  # (given up on: never received)
    assert sent.reply(poll(a), first.token).vms == (a,)


async def test_the_vms_of_a_poll_with_nothing_changed_are_those_of_the_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # (its crash traces)
    apart = LibvirtApart("lab")
    try:
        node = LibvirtNode(apart.host("hv1", URI))
        first = await node.poll()
        second = await node.poll()
        assert second.vms == first.vms
        assert all(x is y for x, y in zip(first.vms, second.vms, strict=True))
        await node.set_placement("db-01", Placement.PINNED, "hv1")
        third = {v.name: v for v in (await node.poll()).vms}
        assert (third["db-01"].placement, third["db-01"].home_host) == (Placement.PINNED, "hv1")
        assert third["web-01"] is second.vms[[v.name for v in second.vms].index("web-01")]
    finally:
        await apart.close()
