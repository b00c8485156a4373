"""The room guard of a live migration holds when its step runs, not only when it was planned:
a target filled meanwhile (on real hosts libvirt does not refuse an overcommitting migration)
makes the step fail with the reason, and nothing is migrated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mvm_tui.backends.base import InvalidState
from mvm_tui.clock import VirtualClock
from mvm_tui.core.placement import room_left
from mvm_tui.models import HostFacts, HostMetrics, HostPoll, Placement, PowerState, Vm
from mvm_tui.runs import StepContext
from mvm_tui.services.placement import placement_steps

GIB = 1024


def vm(name: str, host: str, memory_gb: int, power: PowerState = PowerState.RUNNING) -> Vm:
    return Vm(name=name, uuid="", host=host, power=power, vcpus=2, memory_mb=memory_gb * GIB,
              placement=Placement.AUTO)


def poll(*vms: Vm, memory_gb: int = 16) -> HostPoll:
    return HostPoll(facts=HostFacts(vcpus=8, memory_mb=memory_gb * GIB),
                    metrics=HostMetrics(time=0.0, cpu_pct=0.0, mem_used_mb=0), vms=vms)


class Hosts:
    """Just enough of a backend for a placement run: what each host runs now."""

    def __init__(self, **hosts: list[Vm]) -> None:
        self.hosts = hosts
        self.migrated: list[tuple[str, str]] = []

    async def poll_host(self, host: str) -> HostPoll:
        return poll(*self.hosts[host])

    async def vm_info(self, name: str) -> Vm:
        return next(v for vms in self.hosts.values() for v in vms if v.name == name)

    async def migrate(self, name: str, dest: str, on_progress: Callable[..., Any]) -> None:
        self.migrated.append((name, dest))

    async def set_placement(self, *args: object) -> None:
        pass

    def migrate_commands(self, v: Vm, dest: str) -> list[str]:
        return [f"virsh migrate {v.name} {dest}"]

    def placement_commands(self, v: Vm, *args: object) -> list[str]:
        return [f"virsh metadata {v.name}"]


def test_room_left_counts_every_live_vm_and_the_host_reserve() -> None:
    full = poll(vm("a", "h2", 6), vm("b", "h2", 6), vm("off", "h2", 8, PowerState.SHUTOFF))
    # 16 GiB - 1.5 GiB reserve - 12 GiB live = 2.5 GiB; the shut-off VM takes nothing
    assert room_left(full, "h2", (2 * GIB, 2)) == ""
    assert room_left(full, "h2", (3 * GIB, 2)) == \
        "h2 has 2560 MB free for VMs now, 3072 MB are needed"


async def test_a_target_filled_after_the_plan_is_refused_when_the_step_runs() -> None:
    web = vm("web", "h1", 4)
    hosts = Hosts(h1=[web], h2=[vm("db", "h2", 6)])
    params = {"vm": "web", "host": "h1", "placement": "auto", "home_host": None, "dest": "h2"}
    _, move = placement_steps(hosts, lambda n, h: web, lambda v: None,  # type: ignore[arg-type]
                              params)
    # planned with room (10 GiB left on h2); then a restart lands there and takes 6 GiB more
    hosts.hosts["h2"].append(vm("restarted", "h2", 6))
    ctx = StepContext(1, 1, VirtualClock())
    with pytest.raises(InvalidState, match="web is not moved: h2 has 2560 MB free for VMs"):
        await move.action(ctx)
    assert hosts.migrated == []

    hosts.hosts["h2"].pop()  # room again: a retry moves it
    await move.action(ctx)
    assert hosts.migrated == [("web", "h2")]
