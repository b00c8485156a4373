"""The scenario runner's invariants say no when the simulator's truth breaks them."""

from __future__ import annotations

from mvm_tui.backends.sim import SimBackend, SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.clock import VirtualClock
from mvm_tui.models import Layout, Placement, PowerAction, PowerState
from tests.scenarios.invariants import Invariants


def sim() -> SimBackend:
    hosts = [SimHostSpec(h, f"192.0.2.{i}", vcpus=8, memory_mb=8192,
                         storage_gb=100.0) for i, h in
             enumerate(("h1", "h2"), 10)]
    vms = [SimVmSpec("web-01", "h1", 1, 2048, 20.0, Placement.AUTO),
           SimVmSpec("lic-01", "h1", 1, 1024, 10.0, Placement.PINNED, PowerState.SHUTOFF),
           SimVmSpec("big-01", "h2", 1, 6144, 20.0, Placement.AUTO, PowerState.SHUTOFF)]
    return SimBackend(SimClusterSpec("t", Layout.EXTERNAL, hosts, vms), VirtualClock())


async def test_each_invariant_can_fail() -> None:
    s = sim()
    inv = Invariants(s, lambda: "0.0")
    inv.check()
    assert inv.violations == []
    s._hosts["h2"].copies["web-01"] = PowerState.RUNNING  # a second copy runs
    inv.check()
    assert inv.violations == ["0.0 web-01 runs on h1 and h2"]
    del s._hosts["h2"].copies["web-01"]
    s.move_main("lic-01", "h2")  # pinned, moved
    await s.vm_power(await s.vm_info("big-01"), PowerAction.START)  # 6144 + 0 fits on h2
    s._hosts["h2"].copies["web-01"] = PowerState.SHUTOFF
    s.cut_network("h1")  # web-01's copy there may run: h1 is neither fenced nor off
    await s.vm_power(await s.vm_info("lic-01"), PowerAction.START)  # 7168 > 6656 on h2
    assert sorted(inv.violations[1:]) == [
        "0.0 h2 is overcommitted: 7168 MB of VMs, room for 6656 MB",
        "0.0 lic-01 started on h2 while h1, which has a copy of it, is unreachable and "
        "not fenced",
        "0.0 pinned lic-01 moved from h1 to h2",
    ]
