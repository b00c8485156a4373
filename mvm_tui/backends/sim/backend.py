"""SimBackend: a whole simulated cluster behind the ClusterBackend interface.

State is settled lazily from the injected clock: a VM shutting down is "shut off" once its
deadline has passed when someone looks, loads are functions of time, Ceph jumps from event
to event. Only waits a caller can see (connection timeouts, slow hosts, migrations) sleep on
the clock, so a VirtualClock runs hours of cluster time in milliseconds.
"""

from __future__ import annotations

import asyncio
import operator
import random
import uuid
from collections.abc import Callable
from typing import Any

from mvm_tui.backends.base import (
    BackendError,
    ClusterBackend,
    HostRef,
    HostUnreachable,
    InvalidState,
    NotFound,
)
from mvm_tui.backends.capabilities import CephAdmin, FaultInjector
from mvm_tui.backends.libvirt.migrate import migrate_commands
from mvm_tui.backends.libvirt.power import power_commands
from mvm_tui.backends.libvirt.uri import build_uri, migration_uri
from mvm_tui.backends.sim.ceph import CephModel, OsdSpec
from mvm_tui.backends.sim.ceph_cli import SimCeph, SimCephAdmin
from mvm_tui.backends.sim.consoles import SimConsoles
from mvm_tui.backends.sim.copies import SimCopies
from mvm_tui.backends.sim.failover import SimFailover
from mvm_tui.backends.sim.faults import SimFaults
from mvm_tui.backends.sim.fencing import Fencing
from mvm_tui.backends.sim.live_migration import SimLiveMigration
from mvm_tui.backends.sim.management import SimManagement
from mvm_tui.backends.sim.metrics import VmProfile, host_base_cpu, host_base_io
from mvm_tui.backends.sim.snapshots import SimSnapshots, agent_answers
from mvm_tui.backends.sim.spec import GB, SimClusterSpec, SimVmSpec
from mvm_tui.backends.sim.state import (
    LIVE,
    HostState,
    Migration,
    VmState,
    polled,
    settle,
    snapshot,
)
from mvm_tui.backends.sim.workloads import SimWorkloads, SimWorld
from mvm_tui.clock import Clock
from mvm_tui.models import (
    CephStatus,
    Disk,
    HostFacts,
    HostMetrics,
    HostPoll,
    Layout,
    Nic,
    Placement,
    PowerAction,
    PowerState,
    StopReason,
    Vm,
)


class SimBackend(SimCopies, SimCephAdmin, SimLiveMigration, SimFaults, SimManagement,
                 ClusterBackend):
    """A simulated cluster. Besides the backend interface it offers live migration, Ceph OSD
    control, fault injection (power off, network cut, slow host, restore) and, on HCI, the
    CephAdmin interface (ceph commands, systemd units, mon_host: sim/ceph_cli.py)."""

    def __init__(self, spec: SimClusterSpec, clock: Clock, seed: int = 0) -> None:
        spec.validate()
        self.spec = spec
        self.seed = seed
        self.name = spec.name
        self.layout = spec.layout
        self.hosts = tuple(HostRef(h.name, h.address) for h in spec.hosts)
        self._clock = clock
        self._rng = random.Random(seed)
        self._migrations: dict[str, Migration] = {}
        self.fencing = Fencing()  # Ceph's OSD blocklist
        # told (phase "before"/"after", vm, source, dest) around a migration's switch-over
        self.switchover_hooks: list[Callable[[str, str, str, str], None]] = []
        # what HA keeps next to its lock (on real HCI clusters: RADOS), here in memory
        self.ha_state: dict[str, Any] | None = None
        now = clock.now()
        self._hosts = {
            h.name: HostState(spec=h, seed=self._rng.getrandbits(64)) for h in spec.hosts
        }
        self._vms: dict[str, VmState] = {}
        mac_base = self._rng.getrandbits(24)
        for i, v in enumerate(spec.vms):
            state = self._make_vm(v, now, (mac_base + i) & 0xFFFFFF)
            self._vms[v.name] = state
            self._hosts[v.host].vms[v.name] = state
        self._ceph: CephModel | None = None
        if spec.layout is Layout.HCI:
            osds = [
                OsdSpec(i, h.name, dev, int(h.storage_gb * GB / len(h.data_devices)))
                for i, (h, dev) in enumerate((h, dev) for h in spec.hosts for dev in h.data_devices)
            ]
            stored = sum(
                sum(d.size_gb for d in v.disks) * GB * v.profile.disk_fill
                for v in self._vms.values()
            )
            mons = [h.name for h in spec.hosts]
            self._ceph = CephModel(spec, osds, mons, stored, self._rng.getrandbits(64), now)
        self._ceph_admin = None if self._ceph is None else SimCeph(
            spec, self._hosts, self._ceph, clock, self._reach, f"{spec.name}/{seed}")
        self._failover = SimFailover(self)
        self._consoles = SimConsoles(self._hosts, self._vms, self._reach)
        self._workloads = SimWorkloads(SimWorld(
            self.name, self._hosts, self._vms, clock, self._reach, self._make_vm,
        )) if spec.layout is Layout.HCI else None
        self._snapshots = None if self._workloads is None else SimSnapshots(
            self._workloads, spec.boot_s, spec.vms)

    def ceph_admin(self) -> CephAdmin | None:
        return None if self._ceph_admin is None else self

    def failover(self) -> SimFailover:
        return self._failover

    def fault_injector(self) -> FaultInjector | None:
        return self

    def workloads(self) -> SimWorkloads | None:
        return self._workloads

    def snapshots(self) -> SimSnapshots | None:
        return self._snapshots

    def consoles(self) -> SimConsoles:
        return self._consoles

    def shells(self) -> SimConsoles:
        return self._consoles

    def _make_vm(self, v: SimVmSpec, now: float, nic_id: int) -> VmState:
        rng = self._rng
        vm_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        mac = "52:54:00:" + ":".join(f"{b:02x}" for b in nic_id.to_bytes(3, "big"))
        profile = VmProfile.draw(rng, v.load)
        hci = self.spec.layout is Layout.HCI
        disks = []
        for i, size in enumerate((v.disk_gb, *v.extra_disks_gb)):
            image = v.name if i == 0 else f"{v.name}-disk{i}"
            source = f"rbd:vms/{image}" if hci else f"/var/lib/libvirt/images/{image}.qcow2"
            disks.append(
                Disk(target="vd" + "abcdefghijklmnopqrstuvwxyz"[i], source=source, size_gb=size)
            )
        nics = (Nic(mac=mac, network=v.network, vlan=v.vlan),)
        home = v.home_host
        if home is None and v.placement is not Placement.AUTO:
            home = v.host
        uptime = rng.uniform(3600.0, 90 * 86400.0)
        template = Vm(
            name=v.name,
            uuid=vm_uuid,
            host=v.host,
            power=v.power,
            placement=v.placement,
            home_host=home,
            vcpus=v.vcpus,
            memory_mb=v.memory_mb,
            disks=tuple(disks),
            nics=nics,
            graphics=v.graphics,
        )
        return VmState(
            template=template,
            profile=profile,
            host=v.host,
            power=v.power,
            placement=v.placement,
            home_host=home,
            booted_at=now - uptime,
            acpi=v.acpi,
        )

    # -- lookups

    def _host(self, name: str) -> HostState:
        try:
            return self._hosts[name]
        except KeyError:
            raise NotFound(f"host {name} does not exist") from None

    def _vm(self, name: str) -> VmState:
        try:
            return self._vms[name]
        except KeyError:
            raise NotFound(f"VM {name} does not exist") from None

    async def _reach(self, h: HostState) -> None:
        """Connect to a host: a slow one answers after its latency, an unreachable one never
        (the connection times out after connect_timeout_s)."""
        waited = 0.0
        if h.reachable:
            if h.latency > 0:
                await self._clock.sleep(h.latency)
                waited = h.latency
            else:
                await asyncio.sleep(0)
            if h.reachable:
                return
        await self._clock.sleep(max(0.0, self.spec.connect_timeout_s - waited))
        raise HostUnreachable(f"{h.label}: connection timed out")

    def _snapshot(self, v: VmState, now: float) -> Vm:
        return snapshot(v, now, self.spec.boot_s, self.spec.vm_load_period_s,
                        self._hosts[v.host].phase)

    # -- ClusterBackend

    async def poll_host(self, host: str) -> HostPoll:
        h = self._host(host)
        await self._reach(h)
        self._consoles.settle()
        now = self._clock.now()
        vms = polled(h.vms.values(), now, self.spec.boot_s, self.spec.vm_load_period_s,
                     h.phase)
        vms += tuple(self.copy_snapshots(h))
        hs = h.spec
        if len(vms) == len(h.polled) and all(map(operator.is_, vms, h.polled)):
            vms = h.polled  # (the same objects: their load summed already)
        else:
            vcpu_pct = rd = wr = rx = tx = 0.0
            vm_mem = 0
            for v in vms:  # (one pass: a host of a large cluster has many)
                vcpu_pct += v.cpu_pct * v.vcpus
                rd += v.disk_rd_bps
                wr += v.disk_wr_bps
                rx += v.net_rx_bps
                tx += v.net_tx_bps
                vm_mem += v.mem_used_mb
            h.polled, h.polled_load = vms, (vcpu_pct, rd, wr, rx, tx, vm_mem)
        vcpu_pct, vm_rd, vm_wr, vm_rx, vm_tx, vm_mem = h.polled_load
        rd, wr, rx, tx = host_base_io(h.seed, now)
        rd, wr, rx, tx = rd + vm_rd, wr + vm_wr, rx + vm_rx, tx + vm_tx
        mem = self.spec.host_base_mem_mb + vm_mem
        cpu = host_base_cpu(h.seed, now, self.spec.host_base_cpu_pct) + vcpu_pct / hs.vcpus
        for m in self._migrations.values():  # migration traffic
            if now - m.start < m.plan.duration:
                if m.source == hs.name:
                    tx += m.plan.bandwidth
                elif m.dest == hs.name:
                    rx += m.plan.bandwidth
        metrics = HostMetrics.model_construct(
            time=now,
            cpu_pct=round(min(cpu, 100.0), 2),
            mem_used_mb=min(mem, hs.memory_mb),
            net_rx_bps=round(rx, 1),
            net_tx_bps=round(tx, 1),
            disk_rd_bps=round(rd, 1),
            disk_wr_bps=round(wr, 1),
        )
        if self._ceph is not None:
            used = self._ceph.used_bytes(now)
            used_gb = sum(used[o] for o in self._ceph.osd_ids(hs.name)) / GB
        else:  # local or external storage: the images of its VMs
            used_gb = sum(
                sum(d.size_gb for d in v.disks) * v.profile.disk_fill for v in h.vms.values()
            )
        facts = HostFacts.model_construct(
            vcpus=hs.vcpus,
            memory_mb=hs.memory_mb,
            storage_gb=hs.storage_gb,
            storage_used_gb=round(min(used_gb, hs.storage_gb), 2),
            os=hs.os,
            libvirt_version=self.spec.libvirt_version,
        )
        return HostPoll.model_construct(
            facts=facts, metrics=metrics, vms=vms, maintenance=h.maintenance,
            self_fenced=tuple(h.self_fenced), self_fence_active=h.no_majority,
        )

    async def ceph_status(self) -> CephStatus | None:
        await asyncio.sleep(0)
        if self._ceph is None:
            return None
        quorum = self._mon_quorum()
        if 2 * len(quorum) <= len(self._ceph.mons):
            raise BackendError("ceph: monitors have no quorum")
        return self._ceph.status(self._clock.now(), quorum)

    async def vm_info(self, vm: str) -> Vm:
        v = self._vm(vm)
        await self._reach(self._hosts[v.host])
        return self._snapshot(v, self._clock.now())

    def power_commands(self, vm: Vm, action: PowerAction) -> list[str]:
        return power_commands(self.libvirt_uri(self._defined_on(vm)), vm.name, action)

    def _defined_on(self, vm: Vm) -> str:
        state = self._vms.get(vm.name)
        host = state.host if state is not None else vm.host
        if host is None:
            raise NotFound(f"VM {vm.name} is not defined on any host")
        return host

    async def vm_power(self, vm: Vm, action: PowerAction) -> None:
        v = self._vm(vm.name)
        await self._reach(self._hosts[v.host])
        now = self._clock.now()
        settle(v, now)
        name, power = v.name, v.power
        if action is PowerAction.START:
            if power is PowerState.RUNNING:
                raise InvalidState(f"{name} is already running")
            if power in LIVE:
                raise InvalidState(f"{name} is {power.value}")
            self.fencing.check_can_run(v.host, now)
            v.boot(now)
            return
        if power not in LIVE:
            raise InvalidState(f"{name} is not running")
        if v.migrating_to is not None and action is not PowerAction.POWEROFF:
            raise InvalidState(f"{name} is being migrated to {v.migrating_to}")
        if action is PowerAction.POWEROFF:
            v.power, v.shutoff_at = PowerState.SHUTOFF, None
            v.stop_reason = StopReason.DESTROYED
            v.generation += 1
        elif action is PowerAction.SHUTDOWN:
            if power is PowerState.SHUTTING_DOWN:
                raise InvalidState(f"{name} is already shutting down")
            if v.acpi:  # else the request is delivered and the guest ignores it, as QEMU's do
                v.power, v.shutoff_at = PowerState.SHUTTING_DOWN, now + self.spec.shutdown_s
        else:  # REBOOT: the domain stays running, its guest boots again
            if power is not PowerState.RUNNING:
                raise InvalidState(f"{name} is {power.value}")
            v.booted_at = now

    async def guest_addresses(self, vm: str) -> tuple[str, ...] | None:
        v = self._vm(vm)
        await self._reach(self._hosts[v.host])
        now = self._clock.now()
        settle(v, now)
        if not agent_answers(v, now, self.spec.boot_s):
            return None  # (no agent, or it has not started yet: sim/snapshots.py's rule)
        return tuple(f"10.{n.vlan or 0}.{int(n.mac[-5:-3], 16)}.{int(n.mac[-2:], 16)}/24"
                     for n in v.template.nics)

    async def vm_stop_reason(self, vm: str) -> StopReason | None:
        v = self._vm(vm)
        await self._reach(self._hosts[v.host])
        settle(v, self._clock.now())
        if v.power is PowerState.CRASHED:
            return StopReason.CRASHED
        if v.power is not PowerState.SHUTOFF:
            return None
        return v.stop_reason or StopReason.UNKNOWN

    async def close(self) -> None:
        await asyncio.sleep(0)

    def migrate_commands(self, vm: Vm, dest: str) -> list[str]:
        return self._migrate_command(vm, dest, offline=False)

    def relocate_commands(self, vm: Vm, dest: str) -> list[str]:
        return self._migrate_command(vm, dest, offline=True)

    def _migrate_command(self, vm: Vm, dest: str, *, offline: bool) -> list[str]:
        source, d = self.libvirt_uri(self._defined_on(vm)), self._host(dest).spec
        return migrate_commands(source, vm.name, migration_uri(self.spec.ssh_user, d.address),
                                offline=offline)

    def libvirt_uri(self, host: str) -> str:
        """The host's libvirt URI, as the real backend builds it for a host of the config
        (without a known_hosts parameter: libssh2 then checks ~/.ssh/known_hosts, the default)."""
        return build_uri(self.spec.ssh_user, self._host(host).spec.address,
                         transport=self.spec.libvirt_transport)

    def osd_out(self, osd_id: int) -> None:
        """`ceph osd out N`: raises InvalidState when it is out already."""
        self._need_ceph().mark_out(osd_id, self._clock.now())

    def osd_in(self, osd_id: int) -> None:
        """`ceph osd in N`: raises InvalidState when it is in already."""
        self._need_ceph().mark_in(osd_id, self._clock.now())

    def _need_ceph(self) -> CephModel:
        if self._ceph is None:
            raise InvalidState(f"cluster {self.name} has no Ceph")
        return self._ceph

    # -- for tests and tools: the truth, without reaching any host

    def where_is(self, vm: str) -> str:
        """The host a VM is defined on (ignores reachability)."""
        return self._vm(vm).host

    def vm_names(self, host: str | None = None) -> list[str]:
        if host is None:
            return list(self._vms)
        return list(self._host(host).vms)

