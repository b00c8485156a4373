"""Runs one failover scenario on the simulator with the virtual clock.

A scenario is a directory:
  cluster.toml  the initial cluster: layout, duration, lease (seconds: the HA services hold a
                RADOS lease, so a second one can take over), [ha] settings, [[hosts]],
                [[vms]]
  events.txt    "TIME VERB ARGS" per line ('#' comments):
                faults: power-off H, network-off H, mgmt-off H (SSH/libvirt cut, Ceph OSDs
                still up), restore H, latency H SECONDS;
                operator: enter-maintenance H / leave-maintenance H (the flag only),
                maintenance H (a real enter-maintenance run, in the background),
                retry-maintenance H (Retry from History of the last one), migrate VM H (in
                the background), start VM, stop VM, define-on VM H (defined by hand on H
                too), start-on VM H (defined on H from its XML and started there by hand),
                retry-restart VM (Retry from History of HA's last failed restart run of VM),
                approve-failback VM, self-fence H [held] (H's mvm-selffence kills its running
                VMs and notes them; held: it still has no majority of its peers, until
                majority-back H or restore H), blocklist H (H's Ceph clients blocklisted by someone
                else: its VMs die);
                HA services: ha-start [N] (service N, default 1, a new process), ha-crash [N]
                (kill -9: it stops where it is); rados-down / rados-up (Ceph answers no
                `rados` command: lease renewals fail);
                switch-overs: at-switchover VM before|after VERB ARGS (a fault verb, applied
                when VM's live migration switches over);
                HA's fence: fence-step H SECONDS ok|fail VERB ARGS (HA's blocklist command of
                H takes SECONDS of clock time, then takes effect (ok) or fails; the fault
                VERB ARGS is applied as the step begins)
  expected.log  the expected decisions, one line each ("34.0 fence h1"; service N > 1:
                "34.0 ha2 fence h1"), and the outcome of the operator's runs
                ("40.0 run maintenance h1: done", "50.0 run retry-restart db-01: failed: WHY")
  final.txt     optional: every VM at the end, "VM HOST POWER" ("db-01 h2 running")
  copies.txt    optional: every other copy at the end, "VM HOST POWER"
  journal.txt   optional: service 1's incident timelines at the end, oldest first
                ("incident H: open|over", then its "+N s  text" lines), then the HA state of
                every VM HA should run and does not ("vm VM STATE (REASON)")

Service 1 starts after the events at time 0 unless an event at 0 says ha-start; an event at a
later time T happens right after the checks due at T. Times are seconds of cluster time from
the start. The invariants (invariants.py) are checked after every step of the clock.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.sim import SimBackend, SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.backends.sim.state import settle as settle_vm
from mvm_tui.clock import VirtualClock, settle
from mvm_tui.core.failover import HaSettings
from mvm_tui.models import (
    ClusterSnapshot,
    Host,
    HostFacts,
    HostState,
    Layout,
    Placement,
    PowerAction,
    PowerState,
)
from mvm_tui.runs import RunExecutor, RunState, RunStore
from mvm_tui.services.ha import HaService
from mvm_tui.services.maintenance import MaintenanceRuns
from tests.scenarios.invariants import Invariants
from tests.scenarios.services import Services

FAULTS = ("power-off", "network-off", "mgmt-off", "restore", "latency")


@dataclass
class Outcome:
    log: list[str]
    final: list[str]
    notes: list[str] = field(default_factory=list)  # what else happened (failed migrations)
    blocklisted_at_end: list[str] = field(default_factory=list)
    runs: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # oldest first
    copies: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    journal: list[str] = field(default_factory=list)


def journal_lines(service: HaService | None) -> list[str]:
    if service is None:
        return []
    status = service.status()
    out = []
    for inc in reversed(status.incidents):
        out.append(f"incident {inc.host}: {'open' if inc.end is None else 'over'}")
        out += inc.lines()
    return out + [f"vm {s.line()}" for _, s in sorted(status.vms.items())]


def load_cluster(
    path: Path,
) -> tuple[SimClusterSpec, HaSettings, float, list[str], float | None]:
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
    lease = doc.get("lease")
    return (spec, HaSettings(**ha), float(doc.get("duration", 120)), maintenance,
            None if lease is None else float(lease))


def load_events(path: Path) -> list[tuple[float, str, list[str]]]:
    events = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            t, verb, *args = line.split()
            events.append((float(t), verb, args))
    return sorted(events, key=lambda e: e[0])


async def run_until(clock: VirtualClock, t: float, check: Callable[[], None]) -> None:
    """Move the clock to t deadline by deadline, letting what each wakes up finish first;
    the invariants are checked after each."""
    while (d := clock.next_deadline) is not None and d <= t:
        await clock.advance(d - clock.now())
        await settle(200)
        check()
    await clock.advance(max(0.0, t - clock.now()))
    await settle(200)
    check()


def truth(sim: SimBackend, time: float) -> ClusterSnapshot:
    """The cluster as an operator's inventory would show it now (what maintenance plans on)."""
    hosts = []
    for ref in sim.hosts:
        h = sim._hosts[ref.name]
        state = (HostState.UNREACHABLE if not h.reachable else
                 HostState.MAINTENANCE if h.maintenance else HostState.ONLINE)
        hosts.append(Host(name=ref.name, address=ref.address, state=state,
                          facts=HostFacts(vcpus=h.spec.vcpus, memory_mb=h.spec.memory_mb)))
    vms = tuple(sim._snapshot(v, time) for v in sim._vms.values())
    return ClusterSnapshot(name=sim.name, layout=sim.layout, time=time, hosts=tuple(hosts),
                           vms=vms)


async def run_scenario(directory: Path, db: Path) -> Outcome:
    clock = VirtualClock()
    t0 = clock.now()
    spec, settings, duration, maintenance, lease = load_cluster(directory / "cluster.toml")
    sim = SimBackend(spec, clock, seed=1)
    for h in maintenance:
        await sim.set_maintenance(h, True)
    play = Play(sim, clock, t0, Services(sim, clock, settings, db, lease, [], t0), db)
    try:
        await play.events(load_events(directory / "events.txt"), duration)
    finally:
        await play.stop()
    return play.outcome_at_end()


class Play:
    """A scenario's events played on the simulator: the faults, the operator's actions and
    runs, the HA services; what happened goes to `outcome`."""

    def __init__(self, sim: SimBackend, clock: VirtualClock, t0: float, services: Services,
                 db: Path) -> None:
        self.sim, self.clock, self.t0, self.services = sim, clock, t0, services
        self.outcome = Outcome(services.lines, [])
        self.invariants = Invariants(sim, self.at)
        self.invariants.attach(sim)
        self.operator_store = RunStore(db.with_name(f"{db.stem}-operator{db.suffix}"))
        self.operator = RunExecutor(self.operator_store, clock)
        self.maint = MaintenanceRuns(self.operator, "", sim, clock,
                                     lambda: truth(sim, clock.now()),
                                     unusable=lambda: unusable(services, sim))
        self.background: list[asyncio.Task[None]] = []
        self.verbs: dict[str, Callable[[str, list[str]], Awaitable[None]]] = {
            "enter-maintenance": self._maintenance_flag,
            "leave-maintenance": self._maintenance_flag,
            "maintenance": self._maintenance_run, "retry-maintenance": self._retry_maintenance,
            "retry-restart": self._retry_restart, "migrate": self._migrate,
            "start": self._power, "stop": self._power, "define-on": self._define_on,
            "start-on": self._start_on, "at-switchover": self._at_switchover,
            "fence-step": self._fence_step, "self-fence": self._self_fence,
            "majority-back": self._majority_back, "blocklist": self._blocklist,
            "approve-failback": self._approve_failback, "ha-start": self._ha_start,
            "rados-down": self._rados, "rados-up": self._rados, "ha-crash": self._ha_crash}

    def at(self) -> str:
        return f"{self.clock.now() - self.t0:.1f}"

    async def events(self, events: list[tuple[float, str, list[str]]], duration: float) -> None:
        """The events at time 0, service 1 (unless they start it), each later event right
        after the checks due at its time, then the clock to the end."""
        for t, verb, args in events:
            if t <= 0:
                await self.apply(verb, args)
        if not any(t <= 0 and verb == "ha-start" for t, verb, _ in events):
            self.services.start(1)
        for t, verb, args in events:
            if t > 0:
                await run_until(self.clock, self.t0 + t, self.invariants.check)
                await self.apply(verb, args)
                self.invariants.check()
        await run_until(self.clock, self.t0 + duration, self.invariants.check)
        self.outcome.journal = journal_lines(self.services.live.get(1))

    async def stop(self) -> None:
        await self.services.stop_all()
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)

    def outcome_at_end(self) -> Outcome:
        """Every VM and copy as the simulator holds them now, the blocklist, HA's runs; the
        stores closed."""
        outcome, sim, now = self.outcome, self.sim, self.clock.now()
        for name in sorted(sim.vm_names()):
            v = sim._vms[name]
            settle_vm(v, now)
            outcome.final.append(f"{name} {v.host} {v.power.value.replace(' ', '-')}")
            outcome.copies += [f"{name} {h} {p.value.replace(' ', '-')}"
                               for h, p in sorted(sim.copies_of(name).items())]
        outcome.blocklisted_at_end = sim.blocklist()
        outcome.runs = [(kind, params, state) for _, kind, params, state in self.services.runs()]
        outcome.violations = self.invariants.violations
        self.services.close()
        self.operator_store.close()
        return outcome

    async def apply(self, verb: str, args: list[str]) -> None:
        if verb in FAULTS:
            self.fault(verb, args)
        elif verb in self.verbs:
            await self.verbs[verb](verb, args)
        else:
            raise ValueError(f"unknown event {verb!r}")

    def fault(self, verb: str, args: list[str]) -> None:
        sim = self.sim
        if verb == "power-off":
            sim.power_off_host(args[0])
        elif verb == "network-off":
            sim.cut_network(args[0])
        elif verb == "mgmt-off":  # SSH and libvirt unreachable, its OSDs still up
            sim._hosts[args[0]].cut = True
        elif verb == "restore":
            sim.restore_host(args[0])
        else:
            sim.set_latency(args[0], float(args[1]))

    async def _quietly(self, what: str, aw: Any) -> None:
        try:
            await aw
        except BackendError as exc:
            self.outcome.notes.append(f"{self.at()} {what}: {exc}")

    async def _operator_run(self, what: str, run_id: int) -> None:
        record = await self.operator.execute(run_id)
        self.outcome.log.append(f"{self.at()} run {what}: {record.state.value}")
        if record.error:
            self.outcome.notes.append(f"{self.at()} run {what}: {record.error}")

    # -- the operator

    async def _maintenance_flag(self, verb: str, args: list[str]) -> None:
        await self.sim.set_maintenance(args[0], verb == "enter-maintenance")

    async def _maintenance_run(self, verb: str, args: list[str]) -> None:
        try:
            record = self.maint.create_enter_run(self.maint.plan_enter(args[0]))
        except BackendError as exc:
            self.outcome.log.append(f"{self.at()} run maintenance {args[0]}: refused")
            self.outcome.notes.append(f"{self.at()} maintenance {args[0]}: {exc}")
            return
        self.background.append(asyncio.create_task(
            self._operator_run(f"maintenance {args[0]}", record.id)))

    async def _retry_maintenance(self, verb: str, args: list[str]) -> None:
        last = next(r for r in self.operator_store.list_runs(host=args[0])
                    if r.kind == self.maint.enter_kind)
        self.background.append(asyncio.create_task(
            self._operator_run(f"retry-maintenance {args[0]}", last.id)))

    async def _retry_restart(self, verb: str, args: list[str]) -> None:
        service = self.services.live[1]
        store = self.services.stores[1]
        last = next(r for r in store.list_runs(vm=args[0])
                    if r.kind.endswith("ha.restart") and r.state is RunState.FAILED)
        record = await service.runs.executor.execute(last.id)
        why = f": {record.error}" if record.error else ""
        self.outcome.log.append(
            f"{self.at()} run retry-restart {args[0]}: {record.state.value}{why}")

    async def _migrate(self, verb: str, args: list[str]) -> None:
        self.background.append(asyncio.create_task(self._quietly(
            f"migrate {args[0]} {args[1]}", self.sim.migrate(args[0], args[1]))))

    async def _power(self, verb: str, args: list[str]) -> None:
        action = PowerAction.START if verb == "start" else PowerAction.POWEROFF
        await self.sim.vm_power(await self.sim.vm_info(args[0]), action)

    async def _define_on(self, verb: str, args: list[str]) -> None:
        self.sim.define_copy(args[0], args[1])

    async def _start_on(self, verb: str, args: list[str]) -> None:
        self.sim.move_main(args[0], args[1])
        await self.sim.vm_power(await self.sim.vm_info(args[0]), PowerAction.START)

    async def _approve_failback(self, verb: str, args: list[str]) -> None:
        self.services.live[1].approve_failback(args[0])

    # -- faults at a moment of a migration or of a fence

    async def _at_switchover(self, verb: str, args: list[str]) -> None:
        vm, when, what, *rest = args

        def hook(phase: str, name: str, _src: str, _dst: str) -> None:
            if (phase, name) == (when, vm):
                self.fault(what, rest)

        self.sim.switchover_hooks.append(hook)

    async def _fence_step(self, verb: str, args: list[str]) -> None:
        host, seconds, how, what, *rest = args
        if how not in ("ok", "fail"):
            raise ValueError(f"fence-step: ok or fail, not {how!r}")
        self.services.fence_steps[host] = (float(seconds), how == "ok",
                                           lambda: self.fault(what, rest))

    # -- the hosts' own doings, Ceph, the HA services

    async def _self_fence(self, verb: str, args: list[str]) -> None:
        # H's mvm-selffence kills its VMs (cut off long enough)
        self.sim.self_fence(args[0], held=args[1:] == ["held"])

    async def _majority_back(self, verb: str, args: list[str]) -> None:
        self.sim.majority_back(args[0])  # H reaches a majority of its peers again

    async def _blocklist(self, verb: str, args: list[str]) -> None:
        # an entry HA did not make (left from an earlier incident)
        self.sim.fence_host(args[0], 3600)

    async def _rados(self, verb: str, args: list[str]) -> None:
        # Ceph answers no `rados` command (lease)
        self.services.rados.down = verb == "rados-down"

    async def _ha_start(self, verb: str, args: list[str]) -> None:
        self.services.start(int(args[0]) if args else 1)

    async def _ha_crash(self, verb: str, args: list[str]) -> None:
        await self.services.crash(int(args[0]) if args else 1)


def unusable(services: Services, sim: SimBackend) -> dict[str, str]:
    """What maintenance asks before each move: hosts HA knows lost (any live service)."""
    out: dict[str, str] = {}
    for service in services.live.values():
        out.update(service.unusable_hosts())
    return out
