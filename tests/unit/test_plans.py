"""Where a new VM of a size fits (core/plans): room, and the failover reserve with it there.
Expected values worked out by hand, and a property over random clusters."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mvm_tui.core.failover_plan import HaSettings, plan_restarts
from mvm_tui.core.plans import PROBE, HostFit, Size, reserve_short, where_it_fits
from mvm_tui.models import ClusterSnapshot, Placement
from tests.unit.test_maintenance import LIMITS, cluster, clusters, host, vm

HA = HaSettings(limits=LIMITS)  # 1 GB kept per host: 8 GB for VMs on a 9 GB host


def test_the_hosts_with_room_and_the_reserve_with_the_vm_there() -> None:
    # three hosts of 8 GB for VMs, running 6, 2 and 4 GB (all Auto): h1's loss is covered by
    # h2 alone (6 GB free)
    snap = cluster([host("h1"), host("h2"), host("h3")],
                   [vm("a", "h1", 6144), vm("b", "h2", 2048), vm("c", "h3", 4096)])
    assert reserve_short(snap, HA) == {}
    small = {f.host: f for f in where_it_fits(Size(vcpus=1, memory_mb=1024), snap, HA)}
    assert small["h1"] == HostFit("h1", "", ())  # lost with it: "a" to h2, it to h3
    assert small["h2"] == HostFit("h2", "", ("h1",))  # then no host has 6 GB free for "a"
    assert small["h3"] == HostFit("h3", "", ())
    big = {f.host: f for f in where_it_fits(Size(vcpus=2, memory_mb=3072), snap, HA)}
    assert big["h1"].room == "h1 has 2048 MB and 15 vCPUs free for VMs"
    assert big["h2"].breaks_reserve == ("h1", "h3")  # 3 GB free left there, 2 GB on h1
    # on h3, h3's own loss: "c" (4 GB) takes h2's room, the new VM (3 GB) finds none
    assert big["h3"].breaks_reserve == ("h3",)
    assert not any(f.ok for f in big.values())


def test_a_reserve_already_short_counts_only_what_the_vm_makes_worse() -> None:
    snap = cluster([host("h1"), host("h2")],
                   [vm("a", "h1", 7168), vm("b", "h2", 2048)])
    assert reserve_short(snap, HA) == {"h1": ("a",), "h2": ("b",)}
    fits = {f.host: f for f in where_it_fits(Size(1, 1024), snap, HA)}
    assert fits["h1"].ok  # what stays down is what stayed down already
    assert fits["h2"].ok


def test_a_pinned_vm_is_never_restarted_but_takes_the_room_others_need() -> None:
    snap = cluster([host("h1"), host("h2")], [vm("b", "h2", 2048)])
    fits = {f.host: f for f in where_it_fits(Size(1, 7168), snap, HA, Placement.PINNED)}
    assert fits["h1"].breaks_reserve == ("h2",)  # "b" would find 1 GB free on h1
    assert fits["h2"].room  # 6 GB free


@settings(max_examples=60, deadline=None)
@given(snap=clusters(), size=st.builds(Size, st.integers(1, 8), st.integers(256, 12288)))
def test_a_host_said_ok_keeps_every_loss_covered_that_was(
        snap: ClusterSnapshot, size: Size) -> None:
    before = reserve_short(snap, HA)
    for fit in where_it_fits(size, snap, HA):
        if not fit.ok:
            continue
        probe = vm(PROBE, fit.host, size.memory_mb, size.vcpus)
        after = snap.model_copy(update={"vms": (*snap.vms, probe)})
        for h in snap.hosts:
            short = {v for v, why, _ in plan_restarts(after, h.name, HA).stay_down
                     if why == "no room"}
            assert short <= set(before.get(h.name, ())), (fit, h.name, short)


def test_a_vms_own_restart_priority_orders_restarts_unless_the_config_says_otherwise() -> None:
    # h1 lost: 4 GB free on h2 takes one of "a" and "b" (3 GB each); "a" is larger by name
    # order only, so priority decides
    snap = cluster([host("h1"), host("h2")],
                   [vm("a", "h1", 3072), vm("b", "h1", 3072).model_copy(update={"priority": 5}),
                    vm("c", "h2", 4096)])
    plan = plan_restarts(snap, "h1", HA)
    assert [r[0] for r in plan.restarts] == ["b"]
    config_says = HaSettings(limits=LIMITS, priorities={"a": 10})
    assert [r[0] for r in plan_restarts(snap, "h1", config_says).restarts] == ["a"]
