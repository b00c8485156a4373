"""What the HA service does to a cluster, as Runs (so every step is in History): fence a lost
host, restart a VM elsewhere, unfence a returned host, fail a VM back by live migration.

Fencing and cold moves are not part of the ClusterBackend interface yet: they go through
HaActions, implemented for the simulator (SimHaActions). Real clusters get NoHaActions, whose
fence always fails, so HA never restarts a VM it could not fence first.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from mvm_tui.backends.base import BackendError, ClusterBackend, InvalidState
from mvm_tui.backends.ceph.commands import osd_blocklist_add, osd_blocklist_rm
from mvm_tui.backends.sim import SimBackend
from mvm_tui.clock import Clock
from mvm_tui.models import MigrationProgress, PowerAction, PowerState, Vm
from mvm_tui.runs import RunExecutor, RunRecord, Step, StepContext, Targets


class HaActions(Protocol):
    """Fencing and cold moves: what HA needs beyond the backend interface."""

    def fence_commands(self, host: str, expiry_s: float) -> list[str]: ...
    def unfence_commands(self, host: str) -> list[str]: ...
    async def fence(self, host: str, expiry_s: float) -> None: ...
    async def unfence(self, host: str) -> None: ...
    async def is_fenced(self, host: str) -> bool: ...
    async def power_off(self, host: str) -> None: ...  # IPMI
    async def relocate(self, vm: str, dest: str) -> None: ...  # define a stopped VM elsewhere


def _address(backend: ClusterBackend, host: str) -> str:
    return next((h.address for h in backend.hosts if h.name == host), host)


class SimHaActions:
    def __init__(self, sim: SimBackend) -> None:
        self.sim = sim

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return [shlex.join(osd_blocklist_add(_address(self.sim, host), max(1, int(expiry_s))))]

    def unfence_commands(self, host: str) -> list[str]:
        return [shlex.join(osd_blocklist_rm(_address(self.sim, host)))]

    async def fence(self, host: str, expiry_s: float) -> None:
        self.sim.fence_host(host, expiry_s)

    async def unfence(self, host: str) -> None:
        self.sim.unfence_host(host)

    async def is_fenced(self, host: str) -> bool:
        return host in self.sim.blocklist()

    async def power_off(self, host: str) -> None:
        self.sim.power_off_host(host)

    async def relocate(self, vm: str, dest: str) -> None:
        await self.sim.relocate(vm, dest)


class NoHaActions:
    """For clusters HA cannot fence yet: every fence fails, so nothing is ever restarted."""

    WHY = "no fencing method for this cluster yet (Ceph blocklist over SSH is not wired)"

    def __init__(self, backend: ClusterBackend) -> None:
        self.backend = backend

    def fence_commands(self, host: str, expiry_s: float) -> list[str]:
        return [shlex.join(osd_blocklist_add(_address(self.backend, host), max(1, int(expiry_s))))]

    def unfence_commands(self, host: str) -> list[str]:
        return [shlex.join(osd_blocklist_rm(_address(self.backend, host)))]

    async def fence(self, host: str, expiry_s: float) -> None:
        raise BackendError(self.WHY)

    async def unfence(self, host: str) -> None:
        raise BackendError(self.WHY)

    async def is_fenced(self, host: str) -> bool:
        return False

    async def power_off(self, host: str) -> None:
        raise BackendError("no IPMI configured")

    async def relocate(self, vm: str, dest: str) -> None:
        raise BackendError(self.WHY)


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
                              (f"ipmitool chassis power off  # {host}",), power_off, done))
        return steps

    def _unfence(self, params: Mapping[str, Any]) -> Sequence[Step]:
        host = params["host"]

        async def act(ctx: StepContext) -> None:
            ctx.log(f"{host} is back: removing its blocklist entry")
            await self.actions.unfence(host)

        async def check(ctx: StepContext) -> bool:
            return not await self.actions.is_fenced(host)

        return [Step(f"Remove {host} from the Ceph blocklist",
                     tuple(self.actions.unfence_commands(host)), act, check)]

    def _restart(self, params: Mapping[str, Any]) -> Sequence[Step]:
        vm, lost, target = str(params["vm"]), str(params["host"]), str(params["target"])

        async def define(ctx: StepContext) -> None:
            ctx.log(f"{vm} was on {lost}: defining it on {target}")
            if lost != target:
                await self.actions.relocate(vm, target)

        async def defined(ctx: StepContext) -> bool:
            return bool((await self.backend.vm_info(vm)).host == target)

        async def start(ctx: StepContext) -> None:
            info = await self.backend.vm_info(vm)
            if info.power is not PowerState.RUNNING:
                await self.backend.vm_power(info, PowerAction.START)

        async def running(ctx: StepContext) -> bool:
            info = await self.backend.vm_info(vm)
            return info.host == target and info.power is PowerState.RUNNING

        stub = _stub(vm, target)
        return [
            Step(f"Define {vm} on {target}", (f"# {vm}: define on {target} (shared storage)",),
                 define, defined),
            Step(f"Start {vm} on {target}",
                 tuple(self.backend.power_commands(stub, PowerAction.START)), start, running),
        ]

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


def _stub(vm: str, host: str | None) -> Vm:
    return Vm(name=vm, uuid="", host=host, power=PowerState.UNKNOWN, vcpus=0, memory_mb=0)
