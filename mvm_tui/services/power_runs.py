"""VM power runs: ask for the action, then wait until the VM is in the state it leads to.

A shutdown (ACPI) is only a request: the guest decides, and many ignore it (no ACPI daemon, a
BIOS-only appliance), in which case libvirt keeps reporting the VM running. While a shutdown
run waits for its guest, the operator can power the VM off from the run (ShutdownWaits.choose,
POWER_OFF: the run re-reads the VM's state, then `virsh destroy`, which re-checks the state
in the same libvirt call right before it acts) or stop waiting (CANCEL: the VM keeps running,
the run ends CANCELLED). However the VM goes off, the run says how, from libvirt's reason for
the state (VIR_DOMAIN_SHUTOFF_SHUTDOWN: the guest shut down; DESTROYED: its power was cut, by
this run or by something else; CRASHED...), kept as the run's "outcome" note. A wait that
times out fails the step saying so; the VM screens and the run's screen then offer the
power-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mvm_tui.backends.base import BackendError, ClusterBackend, InvalidState, NotFound
from mvm_tui.clock import Clock
from mvm_tui.models import PowerAction, PowerState, StopReason, Vm
from mvm_tui.runs import RunCancelled, Step, StepContext

POWER_TITLES = {
    PowerAction.START: "Start",
    PowerAction.SHUTDOWN: "Shut down",
    PowerAction.POWEROFF: "Power off",
    PowerAction.REBOOT: "Reboot",
}
OUTCOME = "outcome"  # the run note that says how the VM went off
OFF = (PowerState.SHUTOFF, PowerState.CRASHED)


class ShutdownChoice(StrEnum):
    POWER_OFF = "power off"  # cut its power now (virsh destroy)
    CANCEL = "cancel"  # stop waiting; the VM keeps running


class ShutdownFailed(BackendError):
    """The guest did not shut down in time (the message says so and what to do)."""


@dataclass(eq=False)
class ShutdownWait:
    """A shutdown run of this process waiting for its guest."""

    run_id: int
    vm: str
    since: float  # clock time the wait began
    escalated: bool = False  # the run powered the VM off
    pending: ShutdownChoice | None = None  # the operator's word, not acted on yet
    _woken: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def open(self) -> bool:
        """Whether the operator can still power off or cancel."""
        return not self.escalated and self.pending is None

    def take(self) -> ShutdownChoice | None:
        choice, self.pending = self.pending, None
        self._woken.clear()
        return choice

    async def pause(self, clock: Clock, seconds: float) -> None:
        """Sleep `seconds` of clock time, or until the operator chooses."""
        if self.pending is not None:
            return
        sleeper = asyncio.ensure_future(clock.sleep(seconds))
        woken = asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()


class ShutdownWaits:
    """The shutdown runs executing in this process that wait for their guest, by run id."""

    def __init__(self) -> None:
        self._waits: dict[int, ShutdownWait] = {}

    def get(self, run_id: int) -> ShutdownWait | None:
        return self._waits.get(run_id)

    def of_vm(self, vm: str) -> ShutdownWait | None:
        """The waiting shutdown of this VM, if a run of this process waits for one."""
        return next((w for w in self._waits.values() if w.vm == vm), None)

    def choose(self, run_id: int, choice: ShutdownChoice) -> bool:
        """Tell the run what to do; False when it no longer waits or was told already."""
        wait = self._waits.get(run_id)
        if wait is None or not wait.open:
            return False
        wait.pending = choice
        wait._woken.set()
        return True

    def begin(self, run_id: int, vm: str, now: float) -> ShutdownWait:
        wait = self._waits[run_id] = ShutdownWait(run_id, vm, now)
        return wait

    def end(self, run_id: int) -> None:
        self._waits.pop(run_id, None)


def describe_stop(reason: StopReason | None, escalated: bool) -> str:
    """How the VM went off, from libvirt's reason for its state, in the operator's words."""
    if reason is StopReason.SHUTDOWN:
        return "shut down by the guest"
    if reason is StopReason.DESTROYED:
        return ("powered off by this run, at the operator's request" if escalated else
                "powered off by something else (libvirt: destroyed), not shut down by the guest")
    if reason is StopReason.CRASHED:
        return "the guest crashed (libvirt: crashed), it did not shut down"
    if reason is None or reason is StopReason.UNKNOWN:
        return "shut off; libvirt gives no reason"
    return {
        StopReason.MIGRATED: "it migrated to another host (libvirt: migrated)",
        StopReason.SAVED: "saved to a file by something else (libvirt: saved)",
        StopReason.FAILED: "libvirt reports it failed (libvirt: failed)",
        StopReason.FROM_SNAPSHOT: "stopped by a snapshot being restored (libvirt: from snapshot)",
        StopReason.DAEMON: "stopped by libvirtd, which found its qemu process gone "
                           "(libvirt: daemon)",
    }[reason]


def _seconds(value: float) -> str:
    return f"{value:.0f} s"


class PowerRuns:
    """Builds the steps of a VM power run (services.cluster registers it per cluster)."""

    def __init__(
        self,
        backend: ClusterBackend,
        clock: Clock,
        known_vm: Callable[[str, str | None], Vm],
        vm_changed: Callable[[Vm], None],
        timeout: float,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.known_vm = known_vm
        self.vm_changed = vm_changed
        self.timeout = timeout
        self.waits = ShutdownWaits()

    def steps(self, params: Mapping[str, Any]) -> Sequence[Step]:
        name, host, action = params["vm"], params["host"], PowerAction(params["action"])
        known = self.known_vm(name, host)

        async def act(ctx: StepContext) -> None:
            vm = await self.backend.vm_info(name)
            ctx.log(f"{name} is {vm.power} on {vm.host}")
            await self.backend.vm_power(vm, action)
            ctx.log(f"{POWER_TITLES[action].lower()} requested")

        async def check(ctx: StepContext) -> bool:
            if action is PowerAction.SHUTDOWN:
                return await self._shutdown_done(ctx, name)
            return await self._reached(ctx, name, action.target_state)

        return [
            Step(
                title=f"{POWER_TITLES[action]} {name} on {host}",
                preview=tuple(self.backend.power_commands(known, action)),
                action=act,
                check=check,
            )
        ]

    async def _reached(self, ctx: StepContext, name: str, target: PowerState) -> bool:
        deadline = self.clock.now() + self.timeout
        ctx.waiting(f"{name} to be {target} (up to {self.timeout:g} s)")
        while True:
            vm = await self.backend.vm_info(name)
            if vm.power is target:
                self.vm_changed(vm)
                ctx.log(f"{name} is {vm.power}")
                return True
            if self.clock.now() >= deadline:
                ctx.log(f"{name} is still {vm.power} after {self.timeout:g} s", "err")
                return False
            await self.clock.sleep(1.0)

    async def _shutdown_done(self, ctx: StepContext, name: str) -> bool:
        wait = self.waits.begin(ctx.run_id, name, self.clock.now())
        try:
            return await self._wait_for_guest(ctx, wait)
        finally:
            self.waits.end(ctx.run_id)

    async def _wait_for_guest(self, ctx: StepContext, wait: ShutdownWait) -> bool:
        name = wait.vm
        deadline = wait.since + self.timeout
        ctx.waiting(f"the guest of {name} to shut down (up to {self.timeout:g} s)")
        while True:
            vm = await self.backend.vm_info(name)
            if vm.power in OFF:
                self.vm_changed(vm)
                await self._went_off(ctx, vm, wait.escalated)
                return True
            waited = _seconds(self.clock.now() - wait.since)
            choice = wait.take()
            if choice is ShutdownChoice.CANCEL:
                raise RunCancelled(
                    f"the operator stopped waiting after {waited}: {name} keeps running "
                    f"({vm.power} on {vm.host}); its guest was sent the shutdown request and "
                    "may still act on it")
            if choice is ShutdownChoice.POWER_OFF:
                wait.escalated = await self._power_off(ctx, vm, waited)
                deadline = self.clock.now() + self.timeout
                continue
            if self.clock.now() >= deadline:
                if wait.escalated:
                    raise ShutdownFailed(f"{name} is still {vm.power} {self.timeout:g} s after "
                                         "it was powered off")
                raise ShutdownFailed(
                    f"{name} is still {vm.power} after {self.timeout:g} s: its guest did not "
                    "shut down (it may ignore ACPI). Power it off (f), or ask again (r)")
            await wait.pause(self.clock, 1.0)

    async def _power_off(self, ctx: StepContext, vm: Vm, waited: str) -> bool:
        """The operator's power-off: the state is read again just before (and libvirt checks
        it once more in the call that cuts the power). Whether it cut the power."""
        fresh = await self.backend.vm_info(vm.name)
        ctx.log(f"power off requested by the operator after {waited}; {vm.name} is "
                f"{fresh.power} on {fresh.host}")
        if fresh.power in OFF:
            ctx.log(f"not powered off: {vm.name} is {fresh.power} already")
            return False
        for command in self.backend.power_commands(fresh, PowerAction.POWEROFF):
            ctx.log(f"$ {command}")
        try:
            await self.backend.vm_power(fresh, PowerAction.POWEROFF)
        except InvalidState as exc:  # it went off between the two reads
            ctx.log(f"not powered off: {exc}")
            return False
        ctx.log("power off requested")
        return True

    async def _went_off(self, ctx: StepContext, vm: Vm, escalated: bool) -> None:
        try:
            reason = await self.backend.vm_stop_reason(vm.name)
        except NotFound:
            reason = None
        outcome = describe_stop(reason, escalated)
        ctx.remember(OUTCOME, outcome)
        ctx.log(f"{vm.name} is {vm.power}: {outcome}",
                "out" if reason is StopReason.SHUTDOWN or escalated else "err")
