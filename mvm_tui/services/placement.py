"""Manage Placement as a Run: record a VM's strategy and home host, and live-migrate it to
another host with progress (memory sent and remaining, dirty rate, downtime at the end)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mvm_tui.backends.base import ClusterBackend, InvalidState, commands_or_why
from mvm_tui.core.placement import room_left, rooms
from mvm_tui.models import ClusterSnapshot, MigrationProgress, Placement, PowerState, Vm
from mvm_tui.runs import Step, StepContext
from mvm_tui.units import count, rate

GIB = 2**30


@dataclass(frozen=True)
class PlacementChoice:
    """What the operator chose in the placement dialog."""

    placement: Placement
    host: str  # where the VM should run (its home for failover and pinned)

    @property
    def home_host(self) -> str | None:
        return None if self.placement is Placement.AUTO else self.host


def placement_params(vm: Vm, choice: PlacementChoice) -> dict[str, Any]:
    return {"vm": vm.name, "host": vm.host, "placement": choice.placement.value,
            "home_host": choice.home_host, "dest": choice.host if choice.host != vm.host else None}


def check_choice(snap: ClusterSnapshot, vm: Vm, choice: PlacementChoice) -> None:
    """Refuse, with the reason, a move the cluster cannot take (nothing is changed)."""
    if choice.host == vm.host:
        return
    if vm.power is not PowerState.RUNNING:
        raise InvalidState(f"{vm.name} is {vm.power}: only a running VM is live-migrated")
    room = rooms(snap).get(choice.host)
    if room is None:
        raise InvalidState(f"{choice.host} cannot take VMs now (unreachable, unknown or in "
                           "maintenance)")
    if not room.fits(vm):
        free = room.memory_mb - room.memory_used_mb
        raise InvalidState(f"{choice.host} has no room for {vm.name}: it needs {vm.memory_mb} MB "
                           f"and {count(vm.vcpus, 'vCPU')}, {max(free, 0)} MB are free")


async def ensure_room(backend: ClusterBackend, vm: Vm, dest: str, ctx: StepContext) -> None:
    """The guard right before a VM is live-migrated: a fresh check of `dest` has room for it
    (its live VMs count, and on real hosts the domains of migrations on their way there,
    which libvirt lists from their start); InvalidState, nothing moved, if not."""
    why = room_left(await backend.poll_host(dest), dest, (vm.memory_mb, vm.vcpus))
    if why:
        raise InvalidState(f"{vm.name} is not moved: {why}")
    ctx.log(f"{dest} has room for {vm.name} now")


def _size(n: int) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB else f"{n / 2**20:.0f} MiB"


def progress_text(p: MigrationProgress) -> str:
    if p.downtime_ms is not None:
        return (f"running on {p.dest}: switched over in {p.elapsed_s:.1f} s, downtime "
                f"{p.downtime_ms} ms ({_size(p.memory_processed_bytes)} sent)")
    text = (f"{p.percent:.0f}%: {_size(p.memory_processed_bytes)} sent, "
            f"{_size(p.memory_remaining_bytes)} of {_size(p.memory_total_bytes)} left, "
            f"dirty {rate(p.dirty_rate_bps)}")
    if p.switching_over:
        text += f"; paused on {p.source} for the switch-over"
    return text


def migration_reporter(ctx: StepContext) -> Callable[[MigrationProgress], None]:
    """A live migration's progress for a step: the progress bar at every report (it never
    goes back: a new pass over the memory dirtied meanwhile raises what is left), a log line
    as it passes 25, 50 and 75%, when the VM is paused for the switch-over, and at the end
    (running on the destination, with the downtime); never the same line twice."""
    best, marks, logged = 0.0, [25.0, 50.0, 75.0], [""]
    paused = False

    def log(text: str) -> None:
        if text != logged[0]:
            ctx.log(text)
            logged[0] = text

    def report(p: MigrationProgress) -> None:
        nonlocal best, paused
        done = p.downtime_ms is not None
        best = 100.0 if done else max(best, p.percent)
        ctx.progress(best / 100, progress_text(p))
        if done:
            log(progress_text(p))
            return
        if p.switching_over and not paused:
            paused = True
            log(progress_text(p))
        elif marks and p.percent >= marks[0]:
            while marks and p.percent >= marks[0]:
                marks.pop(0)
            log(progress_text(p))

    return report


def placement_steps(
    backend: ClusterBackend,
    known: Callable[[str, str | None], Vm],
    on_changed: Callable[[Vm], None],
    params: Mapping[str, Any],
) -> Sequence[Step]:
    name, source, dest = params["vm"], params["host"], params["dest"]
    placement, home = Placement(params["placement"]), params["home_host"]
    steps: list[Step] = []

    async def set_placement(ctx: StepContext) -> None:
        await backend.set_placement(name, placement, home)
        ctx.log(f"{name}: placement {placement}" + (f", home {home}" if home else ""))

    async def placement_set(ctx: StepContext) -> bool:
        vm = await backend.vm_info(name)
        if vm.placement is placement and vm.home_host == home:
            on_changed(vm)
            return True
        return False

    steps.append(Step(
        title=f"Set placement of {name}: {placement}" + (f", home {home}" if home else ""),
        preview=commands_or_why(
            lambda: backend.placement_commands(known(name, source), placement, home)),
        action=set_placement, check=placement_set,
    ))
    if dest is None:
        return steps

    async def migrate(ctx: StepContext) -> None:
        vm = await backend.vm_info(name)
        ctx.log(f"{name} runs on {vm.where}; migrating to {dest}")
        await ensure_room(backend, vm, dest, ctx)
        await backend.migrate(name, dest, migration_reporter(ctx))

    async def moved(ctx: StepContext) -> bool:
        vm = await backend.vm_info(name)
        if vm.host == dest and vm.power is PowerState.RUNNING:
            on_changed(vm)
            ctx.log(f"{name} runs on {dest}")
            return True
        return False

    steps.append(Step(
        title=f"Live-migrate {name} from {source} to {dest}",
        preview=tuple(backend.migrate_commands(known(name, source), dest)),
        action=migrate, check=moved,
    ))
    return steps
