"""Where a new VM of a size can go: the hosts with room for it, and for each whether the
failover reserve still holds with it there (the running Auto and Failover VMs of any one host
lost would still all restart elsewhere). Pure: no I/O.

The wizard that creates VMs shows this before anything is made, and refuses a host that breaks
the reserve unless the operator overrides it knowingly (issue 17).
"""

from __future__ import annotations

from dataclasses import dataclass

from mvm_tui.core.failover_plan import HaSettings, plan_restarts
from mvm_tui.core.placement import rooms
from mvm_tui.models import ClusterSnapshot, Placement, PowerState, Vm
from mvm_tui.units import count

PROBE = "(the new VM)"


@dataclass(frozen=True)
class Size:
    vcpus: int
    memory_mb: int


@dataclass(frozen=True)
class HostFit:
    host: str
    room: str  # "" when the VM fits there now, else why not
    # the hosts whose loss would leave VMs down for want of room with the VM there, when it
    # fits and the reserve held without it
    breaks_reserve: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.room and not self.breaks_reserve


def reserve_short(snap: ClusterSnapshot, settings: HaSettings) -> dict[str, tuple[str, ...]]:
    """lost host -> the running Auto and Failover VMs of it that would find no room elsewhere
    (hosts absent from the result are covered)."""
    out = {}
    for host in snap.hosts:
        plan = plan_restarts(snap, host.name, settings)
        short = tuple(vm for vm, why, _ in plan.stay_down if why == "no room")
        if short:
            out[host.name] = short
    return out


def where_it_fits(size: Size, snap: ClusterSnapshot, settings: HaSettings,
                  placement: Placement = Placement.AUTO) -> list[HostFit]:
    """Each host that can take VMs now, by name, with whether a running VM of `size` fits
    and what its being there does to the reserve. Where the reserve is already short, only a
    loss that it makes newly short counts against the host."""
    before = reserve_short(snap, settings)
    out = []
    for name, room in sorted(rooms(snap, settings.limits).items()):
        probe = Vm(name=PROBE, uuid="", host=name, power=PowerState.RUNNING,
                   vcpus=size.vcpus, memory_mb=size.memory_mb, placement=placement)
        if not room.fits(probe):
            free_mb = max(room.memory_mb - room.memory_used_mb, 0)
            free_cpus = max(room.vcpus - room.vcpus_used, 0)
            out.append(HostFit(name, f"{name} has {free_mb} MB and "
                                     f"{count(int(free_cpus), 'vCPU')} free for VMs"))
            continue
        out.append(HostFit(name, "", _newly_short(before, (*snap.vms, probe), snap, settings)))
    return out


def _newly_short(before: dict[str, tuple[str, ...]], vms: tuple[Vm, ...], snap: ClusterSnapshot,
                 settings: HaSettings) -> tuple[str, ...]:
    """The lost hosts that would leave VMs down with `vms` that did not before."""
    after = reserve_short(snap.model_copy(update={"vms": vms}), settings)
    return tuple(lost for lost, down in after.items() if set(down) - set(before.get(lost, ())))


def growth_breaks(vm: str, size: Size, snap: ClusterSnapshot,
                  settings: HaSettings) -> tuple[str, ...]:
    """The hosts whose loss would newly leave VMs down for want of room if `vm` had `size`
    (the failover reserve a resize would break)."""
    grown = tuple(v.model_copy(update={"vcpus": size.vcpus, "memory_mb": size.memory_mb})
                  if v.name == vm else v for v in snap.vms)
    return _newly_short(reserve_short(snap, settings), grown, snap, settings)


def choose_host(size: Size, snap: ClusterSnapshot, settings: HaSettings,
                placement: Placement = Placement.AUTO, host: str | None = None,
                allow_reserve_break: bool = False) -> tuple[str | None, str]:
    """Where a new VM goes: `host` if given and it fits, else the least full host where it
    fits and the reserve holds (or, allowed, where it only fits). (host, "") or (None, why)."""
    fits = where_it_fits(size, snap, settings, placement)
    for fit in fits:
        if fit.host == host:
            if fit.room:
                return None, fit.room
            if fit.breaks_reserve and not allow_reserve_break:
                return None, breaks_text(fit)
            return host, ""
    if host is not None:
        return None, f"{host} cannot take VMs now (unreachable, unknown or in maintenance)"
    good = [f.host for f in fits if f.ok or (allow_reserve_break and not f.room)]
    if not good:
        why = "; ".join(f.room or breaks_text(f) for f in fits)
        return None, f"no host can take it: {why or 'no host can take VMs now'}"
    room = rooms(snap, settings.limits)
    probe = Vm(name=PROBE, uuid="", host=None, power=PowerState.RUNNING, vcpus=size.vcpus,
               memory_mb=size.memory_mb, placement=placement)
    return min(good, key=lambda h: (room[h].taking(probe).fill, h)), ""


def breaks_text(fit: HostFit) -> str:
    return (f"on {fit.host} it would leave VMs of {', '.join(fit.breaks_reserve)} without room "
            "if that host were lost (the failover reserve)")
