"""Runs one failover scenario on the simulator with the virtual clock.

A scenario is a directory:
  cluster.toml  the initial cluster: layout, duration, [ha] settings, [[hosts]], [[vms]]
  events.txt    "TIME VERB ARGS" per line ('#' comments): power-off H, network-off H,
                mgmt-off H (SSH/libvirt cut, Ceph OSDs still up), restore H, latency H SECONDS,
                enter-maintenance H, leave-maintenance H, migrate VM H (in the background),
                start VM, stop VM, approve-failback VM
  expected.log  the expected decisions, one line each ("34.0 fence h1")
  final.txt     optional: every VM at the end, "VM HOST POWER" ("db-01 h2 running")

Events at time 0 happen before the HA service starts; an event at a later time T happens
right after the checks due at T. Times are seconds of cluster time from the start.
"""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.sim import SimBackend, SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.backends.sim.state import settle as settle_vm
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.core.failover import HaSettings
from mvm_tui.models import Layout, Placement, PowerAction, PowerState
from mvm_tui.runs import RunExecutor, RunStore
from mvm_tui.services.ha import HaService
from mvm_tui.services.ha_actions import SimHaActions


@dataclass
class Outcome:
    log: list[str]
    final: list[str]
    notes: list[str] = field(default_factory=list)  # what else happened (failed migrations)
    blocklisted_at_end: list[str] = field(default_factory=list)
    runs: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # oldest first


def load_cluster(path: Path) -> tuple[SimClusterSpec, HaSettings, float, list[str]]:
    doc: dict[str, Any] = tomllib.loads(path.read_text())
    hosts = [
        SimHostSpec(h["name"], h.get("address", f"192.0.2.{10 + i}"), vcpus=h.get("vcpus", 8),
                    memory_mb=h.get("memory_mb", 16384), storage_gb=100.0)
        for i, h in enumerate(doc["hosts"])
    ]
    vms = [
        SimVmSpec(v["name"], v["host"], v.get("vcpus", 1), v.get("memory_mb", 2048), 20.0,
                  Placement(v.get("placement", "auto")),
                  PowerState(v.get("power", "running")), load=0.1)
        for v in doc.get("vms", [])
    ]
    ha = dict(doc.get("ha", {}))
    ha["priorities"] = {v["name"]: v["priority"] for v in doc.get("vms", []) if "priority" in v}
    spec = SimClusterSpec(name=path.parent.name, layout=Layout(doc.get("layout", "external")),
                          hosts=hosts, vms=vms)
    maintenance = [h["name"] for h in doc["hosts"] if h.get("maintenance")]
    return spec, HaSettings(**ha), float(doc.get("duration", 120)), maintenance


def load_events(path: Path) -> list[tuple[float, str, list[str]]]:
    events = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            t, verb, *args = line.split()
            events.append((float(t), verb, args))
    return sorted(events, key=lambda e: e[0])


async def run_until(clock: VirtualClock, t: float) -> None:
    """Move the clock to t deadline by deadline, letting what each wakes up finish first."""
    while (d := clock.next_deadline) is not None and d <= t:
        await clock.advance(d - clock.now())
        await settle(200)
    await clock.advance(max(0.0, t - clock.now()))
    await settle(200)


async def run_scenario(directory: Path, db: Path) -> Outcome:
    clock = VirtualClock()
    t0 = clock.now()
    spec, settings, duration, maintenance = load_cluster(directory / "cluster.toml")
    sim = SimBackend(spec, clock, seed=1)
    for h in maintenance:
        await sim.set_maintenance(h, True)
    store = RunStore(db)
    executor = RunExecutor(store, clock)
    service = HaService(sim, clock, settings, executor, SimHaActions(sim))
    outcome = Outcome([], [])
    background: list[asyncio.Task[None]] = []

    async def quietly(what: str, aw: Any) -> None:
        try:
            await aw
        except BackendError as exc:
            outcome.notes.append(f"{clock.now() - t0:.1f} {what}: {exc}")

    async def apply(verb: str, args: list[str]) -> None:
        if verb == "power-off":
            sim.power_off_host(args[0])
        elif verb == "network-off":
            sim.cut_network(args[0])
        elif verb == "mgmt-off":  # SSH and libvirt unreachable, its OSDs still up
            sim._hosts[args[0]].cut = True
        elif verb == "restore":
            sim.restore_host(args[0])
        elif verb == "latency":
            sim.set_latency(args[0], float(args[1]))
        elif verb in ("enter-maintenance", "leave-maintenance"):
            await sim.set_maintenance(args[0], verb == "enter-maintenance")
        elif verb == "migrate":
            background.append(asyncio.create_task(
                quietly(f"migrate {args[0]} {args[1]}", sim.migrate(args[0], args[1]))))
        elif verb in ("start", "stop"):
            action = PowerAction.START if verb == "start" else PowerAction.POWEROFF
            await sim.vm_power(await sim.vm_info(args[0]), action)
        elif verb == "approve-failback":
            service.approve_failback(args[0])
        else:
            raise ValueError(f"unknown event {verb!r}")

    events = load_events(directory / "events.txt")
    try:
        for t, verb, args in events:
            if t <= 0:
                await apply(verb, args)
        service.start()
        for t, verb, args in events:
            if t > 0:
                await run_until(clock, t0 + t)
                await apply(verb, args)
        await run_until(clock, t0 + duration)
    finally:
        await service.stop()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
    now = clock.now()
    outcome.log = [d.line(t0) for d in service.decisions]
    for name in sorted(sim.vm_names()):
        v = sim._vms[name]
        settle_vm(v, now)
        outcome.final.append(f"{name} {v.host} {v.power.value.replace(' ', '-')}")
    outcome.blocklisted_at_end = sim.blocklist()
    outcome.runs = [(r.kind.split(':')[-1], r.params, r.state.value)
                    for r in reversed(store.list_runs(limit=10_000))]
    store.close()
    return outcome
