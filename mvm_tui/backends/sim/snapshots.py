"""The simulator's Snapshots (issue 19): a VM's snapshot is one snapshot of that name on each
of its RBD images (kept with the image: a rename or the trash takes them along), with the
same commands in the previews as on real hosts (backends/real_snapshots.py's).

How consistent one is follows a clear rule: "stopped" when the VM is shut off; "frozen" when
it runs and its guest agent answers; "crash" otherwise. A simulated guest has an agent when it
honours ACPI (an old appliance that ignores ACPI, such as the demo's license-srv, has none);
the agent answers once its guest has booted, while it runs (not paused)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mvm_tui.backends import workload_commands as cmd
from mvm_tui.backends.base import InvalidState, NotFound
from mvm_tui.backends.capabilities import GroupMember, VmSnapshot
from mvm_tui.backends.sim.spec import SimVmSpec
from mvm_tui.backends.sim.state import HostState, VmState, settle
from mvm_tui.clock import Clock
from mvm_tui.models import PowerState


@dataclass(frozen=True)
class RbdSnap:
    """One RBD snapshot of one image."""

    taken: float
    size: int  # the image's size then
    consistency: str  # CONSISTENCY's


class _Image(Protocol):
    size: int
    snaps: dict[str, RbdSnap]


class _World(Protocol):
    @property
    def vms(self) -> dict[str, VmState]: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def reach(self) -> Callable[[HostState], Awaitable[None]]: ...

    def host(self, name: str) -> HostState: ...


class _Pool(Protocol):
    """What SimSnapshots uses of SimWorkloads (its images, their pool, the simulated world)."""

    @property
    def pool(self) -> str: ...
    @property
    def rbd(self) -> Mapping[str, _Image]: ...
    @property
    def world(self) -> _World: ...


def agent_answers(v: VmState, now: float, boot_s: float) -> bool:
    """The module's rule: its guest honours ACPI (so has an agent), runs, and has booted."""
    return v.acpi and v.power is PowerState.RUNNING and now - v.booted_at >= boot_s


class SimSnapshots:
    """Snapshots (backends/capabilities.py) of the simulated cluster's VMs."""

    def __init__(self, workloads: _Pool, boot_s: float,
                 vms: Iterable[SimVmSpec] = ()) -> None:
        self.w, self.boot_s = workloads, boot_s
        now = workloads.world.clock.now()
        prefix = f"rbd:{workloads.pool}/"
        for spec in vms:  # the snapshots a VM of the spec has at the start
            state = workloads.world.vms.get(spec.name)
            if state is None:
                continue
            images = [d.source.removeprefix(prefix) for d in state.disks
                      if d.source.startswith(prefix)]
            for name, age, consistency in spec.snapshots:
                for image in images:
                    rbd = workloads.rbd[image]
                    rbd.snaps[name] = RbdSnap(now - age, rbd.size, consistency)

    async def _vm(self, host: str, vm: str) -> VmState:
        h = self.w.world.host(host)
        await self.w.world.reach(h)
        state = h.vms.get(vm)
        if state is None:
            raise NotFound(f"{host}: VM {vm} is not defined there")
        settle(state, self.w.world.clock.now())
        return state

    def _snaps(self, image: str) -> dict[str, RbdSnap]:
        found = self.w.rbd.get(image)
        if found is None:
            raise NotFound(f"no RBD image {self.w.pool}/{image}")
        return found.snaps

    async def snapshots(self, host: str, vm: str, images: Sequence[str]) -> list[VmSnapshot]:
        await self.w.world.reach(self.w.world.host(host))
        found: dict[str, list[tuple[str, RbdSnap]]] = {}
        for image in images:
            rbd = self.w.rbd.get(image)
            for name, snap in ({} if rbd is None else rbd.snaps).items():
                found.setdefault(name, []).append((image, snap))
        out = [VmSnapshot(name, min(s.taken for _, s in have), sum(s.size for _, s in have),
                          have[0][1].consistency, tuple(i for i, _ in have),
                          complete=len(have) == len(images))
               for name, have in found.items()]
        return sorted(out, key=lambda s: (s.taken, s.name))

    def take_commands(self, host: str, vm: str, images: Sequence[str], name: str,
                      running: bool) -> list[str]:
        """As on real hosts: a running VM's, one script on its host (freeze, snapshots, thaw
        in an exit trap); a stopped VM's, the snapshots and its consistency noted."""
        return [cmd.on(host, a) for a in cmd.snap_take(self.w.pool, vm, images, name, running)]

    async def take(self, host: str, vm: str, images: Sequence[str], name: str,
                   running: bool) -> str:
        state = await self._vm(host, vm)
        snaps = [self._snaps(i) for i in images]
        if any(name in s for s in snaps):
            raise InvalidState(f"{vm} has a snapshot named {name} already")
        now = self.w.world.clock.now()
        consistency = ("stopped" if state.power is PowerState.SHUTOFF
                       else "frozen" if agent_answers(state, now, self.boot_s) else "crash")
        for image, s in zip(images, snaps, strict=True):
            s[name] = RbdSnap(now, self.w.rbd[image].size, consistency)
        return consistency

    def revert_commands(self, host: str, vm: str, images: Sequence[str],
                        name: str) -> list[str]:
        return [cmd.on(host, cmd.snap_rollback(self.w.pool, i, name)) for i in images]

    async def revert(self, host: str, vm: str, images: Sequence[str], name: str) -> None:
        state = await self._vm(host, vm)
        if state.power is not PowerState.SHUTOFF:
            raise InvalidState(f"{vm} is {state.power.value}: its disks are not rolled back "
                               "while it runs")
        missing = [i for i in images if name not in self._snaps(i)]
        if missing:
            raise NotFound(f"{vm} has no snapshot {name} of {', '.join(missing)}: nothing is "
                           "rolled back")
        for image in images:
            rbd = self.w.rbd[image]
            rbd.size = rbd.snaps[name].size  # (its data too, were there any here)

    def delete_commands(self, host: str, vm: str, images: Sequence[str],
                        name: str) -> list[str]:
        return [cmd.on(host, a) for a in cmd.snap_delete(self.w.pool, images, name)]

    async def delete(self, host: str, vm: str, images: Sequence[str], name: str) -> None:
        await self._vm(host, vm)
        have = [r.snaps for i in images if (r := self.w.rbd.get(i)) is not None
                and name in r.snaps]
        if not have:
            raise NotFound(f"{vm} has no snapshot named {name}")
        for s in have:
            del s[name]

    def group_commands(self, members: Sequence[GroupMember], name: str) -> list[str]:
        return cmd.group_preview(self.w.pool, members, name)  # (as on real hosts)

    async def take_group(self, members: Sequence[GroupMember], name: str) -> dict[str, str]:
        states = [await self._vm(m.host, m.vm) for m in members]
        for m in members:
            if any(name in self._snaps(i) for i in m.images):
                raise InvalidState(f"{m.vm} has a snapshot named {name} already")
        now = self.w.world.clock.now()
        how = {m.vm: ("stopped" if s.power is PowerState.SHUTOFF
                      else "frozen" if agent_answers(s, now, self.boot_s) else "crash")
               for m, s in zip(members, states, strict=True)}
        for m in members:
            for image in m.images:
                self._snaps(image)[name] = RbdSnap(now, self.w.rbd[image].size, how[m.vm])
        return how
