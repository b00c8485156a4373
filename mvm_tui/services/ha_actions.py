"""What the HA service does to a cluster, as Runs (so every step is in History): fence a lost
host, restart a VM elsewhere, remove a returned host's stale copies and unfence it, fail a VM
back by live migration.

Fencing and restarting a lost host's VMs go beyond the ClusterBackend interface: they go
through HaActions, implemented for the simulator (SimHaActions), for real HCI clusters
(services.ha_real.RealHaActions: Ceph blocklist, kept copies of the VMs' definitions) and for
clusters HA cannot fence (NoHaActions, whose fence always fails, so nothing is restarted).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mvm_tui.backends.base import BackendError, ClusterBackend, InvalidState, NotFound
from mvm_tui.backends.ceph.commands import osd_blocklist_add, osd_blocklist_rm
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import Clock
from mvm_tui.models import MigrationProgress, PowerAction, PowerState, Vm
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets


class HaActions(Protocol):
    """Fencing and restarting elsewhere: what HA needs beyond the backend interface."""

    def fence_commands(self, host: str, expiry_s: float) -> list[str]: ...
    def unfence_commands(self, host: str) -> list[str]: ...
    async def fence(self, host: str, expiry_s: float) -> None: ...
    async def unfence(self, host: str) -> None: ...
    async def is_fenced(self, host: str) -> bool: ...
    def power_off_commands(self, host: str) -> list[str]: ...
    async def power_off(self, host: str) -> None: ...  # IPMI
    async def osds_up(self, host: str) -> bool | None: ...  # any of its OSDs up (None: no Ceph)
    def restart_commands(self, vm: str, target: str) -> list[str]: ...
    async def define_on(self, vm: str, lost: str, target: str) -> None: ...
    async def state_on(self, vm: str, host: str) -> PowerState | None: ...  # None: not there
    async def start_on(self, vm: str, host: str) -> None: ...
    def remove_commands(self, vm: str, host: str) -> list[str]: ...
    async def remove_copy(self, vm: str, host: str) -> None: ...  # stop and undefine there


def _address(backend: ClusterBackend, host: str) -> str:
    return next((h.address for h in backend.hosts if h.name == host), host)


class _BackendActions:
    """Restarts and stale copies through the backend interface (one definition per VM)."""

    def __init__(self, backend: ClusterBackend) -> None:
        self.backend = backend

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return [shlex.join(osd_blocklist_add(_address(self.backend, host),
                                             max(1, int(expiry_s))))]

    def unfence_commands(self, host: str) -> list[str]:
        return [shlex.join(osd_blocklist_rm(_address(self.backend, host)))]

    def power_off_commands(self, host: str) -> list[str]:
        return [f"ipmitool chassis power off  # {host}"]

    def restart_commands(self, vm: str, target: str) -> list[str]:
        return [f"# {vm}: define on {target} (shared storage)",
                *self.backend.power_commands(_stub(vm, target), PowerAction.START)]

    async def state_on(self, vm: str, host: str) -> PowerState | None:
        try:
            info = await self.backend.vm_info(vm)
        except NotFound:
            return None
        return info.power if info.host == host else None

    async def start_on(self, vm: str, host: str) -> None:
        info = await self.backend.vm_info(vm)
        if info.host != host:
            raise InvalidState(f"{vm} is on {info.host}, not {host}")
        await self.backend.vm_power(info, PowerAction.START)

    def remove_commands(self, vm: str, host: str) -> list[str]:
        return [f"# {vm}: nothing left on {host} (one definition per VM)"]

    async def remove_copy(self, vm: str, host: str) -> None:
        if await self.state_on(vm, host) is not None:
            raise InvalidState(f"{vm} is still on {host}")


class SimHaActions(_BackendActions):
    def __init__(self, sim: SimBackend) -> None:
        super().__init__(sim)
        self.sim = sim

    async def fence(self, host: str, expiry_s: float) -> None:
        self.sim.fence_host(host, expiry_s)

    async def unfence(self, host: str) -> None:
        self.sim.unfence_host(host)

    async def is_fenced(self, host: str) -> bool:
        return host in self.sim.blocklist()

    async def power_off(self, host: str) -> None:
        self.sim.power_off_host(host)

    async def osds_up(self, host: str) -> bool | None:
        return self.sim.host_osds_up(host)

    async def define_on(self, vm: str, lost: str, target: str) -> None:
        if self.sim.where_is(vm) != target:
            await self.sim.relocate(vm, target)


class NoHaActions(_BackendActions):
    """For clusters HA cannot fence: every fence fails (saying why), so nothing is ever
    restarted; lost hosts are still reported."""

    NOT_HCI = ("no fencing method for this cluster (fencing blocklists a host's Ceph clients: "
               "HCI clusters only)")
    NO_SELF_FENCE = ("[clusters.ha] self_fence_after is not set: a host that only lost its "
                     "network would keep running its VMs (run mvm-selffence on every host and "
                     "set it)")

    def __init__(self, backend: ClusterBackend, why: str = NOT_HCI) -> None:
        super().__init__(backend)
        self.why = why

    async def fence(self, host: str, expiry_s: float) -> None:
        raise BackendError(self.why)

    async def unfence(self, host: str) -> None:
        raise BackendError(self.why)

    async def is_fenced(self, host: str) -> bool:
        return False

    async def power_off(self, host: str) -> None:
        raise BackendError("no IPMI configured")

    async def osds_up(self, host: str) -> bool | None:
        return None

    async def define_on(self, vm: str, lost: str, target: str) -> None:
        raise BackendError(self.why)


class HaRuns:
    """Registers the HA run kinds of one cluster with the executor, and runs them."""

    def __init__(
        self, backend: ClusterBackend, clock: Clock, executor: RunExecutor, actions: HaActions
    ) -> None:
        self.backend, self.clock, self.executor, self.actions = backend, clock, executor, actions
        for kind, builder in (("fence", self._fence), ("unfence", self._unfence),
                              ("restart", self._restart), ("failback", self._failback)):
            executor.register(self._kind(kind), builder)

    def _kind(self, kind: str) -> str:
        return f"{self.backend.name}:ha.{kind}"

    async def run(self, kind: str, title: str, params: dict[str, Any], targets: Targets) -> str:
        """Create and execute a run; returns "" when it is done, else its error."""
        record: RunRecord = self.executor.create(self._kind(kind), title, params, targets)
        record = await self.executor.execute(record.id)
        return "" if record.state == "done" else (record.error or str(record.state))

    def targets(self, host: str | None = None, vm: str | None = None) -> Targets:
        return Targets(cluster=self.backend.name, host=host, vm=vm)

    # -- builders

    def _fence(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host, expiry, ipmi = params["host"], float(params["expiry"]), bool(params["ipmi"])

        async def blocklist(ctx: StepContext) -> None:
            ctx.log(f"{host} failed its checks for the grace period: fencing it")
            await self.actions.fence(host, expiry)

        async def fenced(ctx: StepContext) -> bool:
            return await self.actions.is_fenced(host)

        async def power_off(ctx: StepContext) -> None:
            await self.actions.power_off(host)
            ctx.log(f"{host} powered off through IPMI")

        async def done(ctx: StepContext) -> bool:
            return True

        steps = [Step(f"Blocklist the Ceph clients of {host} for {expiry:g} s",
                      tuple(self.actions.fence_commands(host, expiry)), blocklist, fenced)]
        if ipmi:
            steps.append(Step(f"Power off {host} through IPMI",
                              tuple(self.actions.power_off_commands(host)), power_off, done))
        return steps

    def _unfence(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host, stale = str(params["host"]), [str(v) for v in params.get("stale", ())]
        steps = [self._remove_step(vm, host) for vm in stale]

        async def act(ctx: StepContext) -> None:
            ctx.log(f"{host} is back: removing its blocklist entry")
            await self.actions.unfence(host)

        async def check(ctx: StepContext) -> bool:
            return not await self.actions.is_fenced(host)

        steps.append(Step(f"Remove {host} from the Ceph blocklist",
                          tuple(self.actions.unfence_commands(host)), act, check))
        return steps

    def _remove_step(self, vm: str, host: str) -> Step:
        async def act(ctx: StepContext) -> None:
            ctx.log(f"{vm} was restarted elsewhere while {host} was lost: removing the stale "
                    f"copy on {host}")
            await self.actions.remove_copy(vm, host)

        async def check(ctx: StepContext) -> bool:
            return await self.actions.state_on(vm, host) is None

        return Step(f"Stop and undefine the stale copy of {vm} on {host}",
                    tuple(self.actions.remove_commands(vm, host)), act, check)

    def _restart(self, params: Mapping[str, Any]) -> Sequence[Step]:
        vm, lost, target = str(params["vm"]), str(params["host"]), str(params["target"])
        a = self.actions

        async def define(ctx: StepContext) -> None:
            ctx.log(f"{vm} was on {lost}: defining it on {target}")
            await a.define_on(vm, lost, target)

        async def defined(ctx: StepContext) -> bool:
            return await a.state_on(vm, target) is not None

        async def start(ctx: StepContext) -> None:
            if await a.state_on(vm, target) is not PowerState.RUNNING:
                await a.start_on(vm, target)

        async def running(ctx: StepContext) -> bool:
            return await a.state_on(vm, target) is PowerState.RUNNING

        define_cmds, start_cmds = _split(a.restart_commands(vm, target))
        return [Step(f"Define {vm} on {target}", define_cmds, define, defined),
                Step(f"Start {vm} on {target}", start_cmds, start, running)]

    def _failback(self, params: Mapping[str, Any]) -> Sequence[Step]:
        vm, home = str(params["vm"]), str(params["home"])

        async def act(ctx: StepContext) -> None:
            info = await self.backend.vm_info(vm)
            if info.host == home:
                return
            if info.power is not PowerState.RUNNING:
                raise InvalidState(f"{vm} is {info.power.value}: not moved back")

            def progress(p: MigrationProgress) -> None:
                ctx.log(f"{p.percent:.0f}% sent, {p.memory_remaining_bytes} bytes remaining")

            await self.backend.migrate(vm, home, progress)

        async def check(ctx: StepContext) -> bool:
            return bool((await self.backend.vm_info(vm)).host == home)

        try:
            preview = tuple(self.backend.migrate_commands(_stub(vm, None), home))
        except BackendError:
            preview = (f"# live-migrate {vm} to {home}",)
        return [Step(f"Live-migrate {vm} back to {home}", preview, act, check)]


def _split(commands: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """restart_commands: the define commands, then the start command (the last)."""
    return tuple(commands[:-1]), tuple(commands[-1:])


def _stub(vm: str, host: str | None) -> Vm:
    return Vm(name=vm, uuid="", host=host, power=PowerState.UNKNOWN, vcpus=0, memory_mb=0)
