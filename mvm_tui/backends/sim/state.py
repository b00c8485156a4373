"""The mutable state of simulated hosts and VMs, and how a VM looks when polled."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mvm_tui.backends.sim.metrics import IDLE, Sample, VmProfile
from mvm_tui.backends.sim.migration import PrecopyPlan
from mvm_tui.backends.sim.spec import SimHostSpec
from mvm_tui.models import Disk, Placement, PowerState, StopReason, Vm

LIVE = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTTING_DOWN)
# what a VM's poll shows besides its load: a change to one of these is seen at the next poll
_SHOWN = frozenset({"template", "profile", "host", "power", "placement", "home_host",
                    "booted_at", "stop_reason"})


@dataclass(eq=False)
class VmState:
    template: Vm  # its fixed parts (name, uuid, size, disks, NICs); polls copy and update it
    profile: VmProfile
    host: str
    power: PowerState
    placement: Placement
    home_host: str | None
    booted_at: float
    shutoff_at: float | None = None  # when an ACPI shutdown completes
    generation: int = 0  # bumped whenever the guest stops: aborts a migration in flight
    migrating_to: str | None = None
    acpi: bool = True  # False: its guest ignores ACPI (a shutdown request changes nothing)
    stop_reason: StopReason | None = None  # why it last stopped, as libvirt would say
    next_boot: tuple[int, int] | None = None  # (vCPUs, MiB) its definition has for next boot
    # what a poll shows changes: bumped at every change of a field in _SHOWN (see `snapshot`)
    version: int = 0
    seen_version: int = -1  # the version its last sampled poll showed ...
    seen_until: float = 0.0  # ... until when that sample holds ...
    seen_vm: Vm | None = None  # ... and what it returned

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _SHOWN:
            self.__dict__["version"] = self.__dict__.get("version", 0) + 1

    @property
    def name(self) -> str:
        return self.template.name

    def boot(self, now: float) -> None:
        """It starts: with the size its definition has."""
        if self.next_boot is not None:
            vcpus, memory = self.next_boot
            self.template = self.template.model_copy(update={"vcpus": vcpus,
                                                             "memory_mb": memory})
            self.next_boot = None
        self.power, self.booted_at, self.stop_reason = PowerState.RUNNING, now, None

    @property
    def memory_mb(self) -> int:
        return self.template.memory_mb

    @property
    def disks(self) -> tuple[Disk, ...]:
        return self.template.disks


@dataclass(eq=False)
class HostState:
    spec: SimHostSpec
    seed: int
    vms: dict[str, VmState] = field(default_factory=dict)
    powered: bool = True
    cut: bool = False
    latency: float = 0.0
    maintenance: bool = False
    incoming_mb: int = 0  # memory reserved by migrations on their way here
    incoming_vcpus: int = 0
    copies: dict[str, PowerState] = field(default_factory=dict)  # VMs defined elsewhere too
    self_fenced: list[str] = field(default_factory=list)  # VMs its self-fence killed
    no_majority: bool = False  # its self-fence kills what runs there now
    # its last poll's VMs and their load summed (vCPU %, disk read, write, net rx, tx, memory
    # used): a poll that finds the same VM objects (none sampled again) reuses the sums
    polled: tuple[Vm, ...] = ()
    polled_load: tuple[float, float, float, float, float, int] = (0.0, 0.0, 0.0, 0.0, 0.0, 0)

    @property
    def phase(self) -> float:
        """When in a load period its VMs are sampled (see `snapshot`)."""
        return (self.seed & 0xFFFF) / 0x10000

    @property
    def reachable(self) -> bool:
        return self.powered and not self.cut

    @property
    def label(self) -> str:
        return f"{self.spec.name} ({self.spec.address})"


@dataclass(frozen=True)
class Migration:
    source: str
    dest: str
    start: float
    plan: PrecopyPlan


def settle(v: VmState, now: float) -> None:
    """Apply what has happened to the VM by `now` (an ACPI shutdown that completed)."""
    if v.power is PowerState.SHUTTING_DOWN and v.shutoff_at is not None and v.shutoff_at <= now:
        v.power = PowerState.SHUTOFF
        v.shutoff_at = None
        v.stop_reason = StopReason.SHUTDOWN
        v.generation += 1


def snapshot(v: VmState, now: float, boot_s: float, load_period: float = 0.0,
             phase: float = 0.0) -> Vm:
    """The VM as a poll at `now` sees it. With a `load_period`, its load is sampled once per
    period (at `phase`, its host's: a host's VMs are sampled together) and a poll in between
    returns the same Vm object when nothing it shows changed (its version): what a large
    simulated cluster costs per poll is then what changed."""
    if v.power is PowerState.SHUTTING_DOWN:  # (never kept: its shutdown may complete)
        settle(v, now)
        return _sample(v, now, boot_s)
    if load_period <= 0.0 or now - v.booted_at < boot_s:
        return _sample(v, now, boot_s)
    if now < v.seen_until and v.seen_version == v.version and v.seen_vm is not None:
        return v.seen_vm
    d = v.__dict__  # (not through __setattr__: these do not change what a poll shows)
    d["seen_until"] = (math.floor(now / load_period + phase) + 1 - phase) * load_period
    d["seen_version"], d["seen_vm"] = v.version, _sample(v, now, boot_s)
    return d["seen_vm"]  # type: ignore[no-any-return]


def polled(vms: Iterable[VmState], now: float, boot_s: float, load_period: float,
           phase: float) -> tuple[Vm, ...]:
    """`snapshot` of each, the ones kept inlined (a poll of a large cluster is mostly these)."""
    return tuple(v.seen_vm if now < v.seen_until and v.seen_version == v.version  # type: ignore[misc]
                 else snapshot(v, now, boot_s, load_period, phase) for v in vms)


def _sample(v: VmState, now: float, boot_s: float) -> Vm:
    if v.power is PowerState.RUNNING or v.power is PowerState.SHUTTING_DOWN:
        s = v.profile.sample(
            v.memory_mb, now, v.booted_at, boot_s, v.power is PowerState.SHUTTING_DOWN
        )
    elif v.power is PowerState.PAUSED:  # memory kept, nothing else
        mem = v.profile.sample(v.memory_mb, now, v.booted_at, 0.0, False).mem_used_mb
        s = Sample(0.0, mem, 0.0, 0.0, 0.0, 0.0)
    else:
        s = IDLE
    return _derive(
        v.template,
        {
            "host": v.host,
            "power": v.power,
            "stop_reason": None if v.power in LIVE else v.stop_reason or StopReason.UNKNOWN,
            "placement": v.placement,
            "home_host": v.home_host,
            "cpu_pct": s.cpu_pct,
            "mem_used_mb": s.mem_used_mb,
            "disk_rd_bps": s.disk_rd_bps,
            "disk_wr_bps": s.disk_wr_bps,
            "net_rx_bps": s.net_rx_bps,
            "net_tx_bps": s.net_tx_bps,
        },
    )


def _derive_fast(template: Vm, update: dict[str, Any]) -> Vm:
    """template.model_copy(update=...) without its generic copying: what model_construct
    does, for a VM per host per poll."""
    values = template.__dict__.copy()
    values.update(update)
    m = Vm.__new__(Vm)
    object.__setattr__(m, "__dict__", values)
    object.__setattr__(m, "__pydantic_fields_set__", set(_VM_FIELDS))
    object.__setattr__(m, "__pydantic_extra__", None)
    object.__setattr__(m, "__pydantic_private__", None)
    return m


def _derive_public(template: Vm, update: dict[str, Any]) -> Vm:
    return template.model_copy(update=update)


def _pick_derive() -> Callable[[Vm, dict[str, Any]], Vm]:
    """The fast path, if this pydantic builds models the way it expects; else model_copy."""
    probe = Vm(name="probe", uuid="0", host="h", power=PowerState.RUNNING, vcpus=1, memory_mb=1)
    update = {"cpu_pct": 5.0, "host": "g"}
    try:
        fast, public = _derive_fast(probe, update), _derive_public(probe, update)
        if fast == public and fast.model_dump() == public.model_dump() and hash(fast):
            return _derive_fast
    except Exception:  # pragma: no cover - a pydantic that stores models differently
        pass
    return _derive_public  # pragma: no cover


_VM_FIELDS = frozenset(Vm.model_fields)
_derive = _pick_derive()
