"""Pydantic types shared by every layer: hosts, VMs, Ceph status, events, snapshots."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HostState(StrEnum):
    UNKNOWN = "unknown"  # not polled yet
    ONLINE = "online"
    SLOW = "slow"  # answered, but slower than the configured threshold
    UNREACHABLE = "unreachable"  # no answer within the poll timeout, or connection refused
    MAINTENANCE = "maintenance"


class MemSource(StrEnum):
    """Where a VM's memory in use comes from."""

    GUEST = "guest"  # the guest's own figure (its balloon driver: available - usable)
    ALLOCATED = "allocated"  # no figure from the guest: the memory it was given (balloon size)


class PowerState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    SHUTTING_DOWN = "shutting down"
    SHUTOFF = "shut off"
    CRASHED = "crashed"
    UNKNOWN = "unknown"  # its host cannot be reached


class Placement(StrEnum):
    AUTO = "auto"  # the cluster may move it to balance load
    FAILOVER = "failover"  # moved only when its host is lost
    PINNED = "pinned"  # never moved


class PowerAction(StrEnum):
    START = "start"
    SHUTDOWN = "shutdown"  # graceful (ACPI)
    POWEROFF = "poweroff"  # hard stop
    REBOOT = "reboot"

    @property
    def disruptive(self) -> bool:
        return self is not PowerAction.START

    @property
    def target_state(self) -> PowerState:
        return PowerState.SHUTOFF if self in (self.SHUTDOWN, self.POWEROFF) else PowerState.RUNNING


class StopReason(StrEnum):
    """Why a VM is not running, as libvirt reports it (virDomainState's reason for a domain
    shut off, VIR_DOMAIN_SHUTOFF_*, or crashed)."""

    SHUTDOWN = "shutdown"  # the guest powered itself off (on ACPI, or from inside)
    DESTROYED = "destroyed"  # its power was cut (virsh destroy, a power-off)
    CRASHED = "crashed"  # the guest or its qemu process crashed
    MIGRATED = "migrated"  # it moved to another host
    SAVED = "saved"  # its memory was saved to a file (managed save)
    FAILED = "failed"  # it failed to start
    FROM_SNAPSHOT = "from snapshot"  # a snapshot was restored
    DAEMON = "daemon"  # libvirtd stopped it while it restarted (its qemu process was gone)
    UNKNOWN = "unknown"  # libvirt gives no reason


class Layout(StrEnum):
    HCI = "hci"  # hyper-converged: Ceph on the hypervisor hosts
    EXTERNAL = "external"  # external storage (NFS, iSCSI)


class Disk(Frozen):
    target: str  # guest device, e.g. "vda"
    source: str  # e.g. "rbd:vms/web-01" or a file path
    size_gb: float
    bus: str = "virtio"


class Nic(Frozen):
    mac: str
    network: str  # bridge or port group
    vlan: int | None = None
    model: str = "virtio"


class GraphicsConsole(Frozen):
    """A VM's VNC or SPICE display, as its running domain's XML says: where it listens."""

    kind: Literal["vnc", "spice"]
    port: int | None = None  # TCP port; None: none assigned (autoport, not running) or a socket
    tls_port: int | None = None  # SPICE's TLS port, when it has one
    listen: str = ""  # the address it listens on; "": not said (qemu.conf's, 127.0.0.1)
    # a unix socket on its host instead of a TCP port ("": its path is made when it starts)
    socket: str | None = None


class Vm(Frozen):
    name: str
    uuid: str
    host: str | None  # where it runs / is defined; None when nowhere
    power: PowerState
    stop_reason: StopReason | None = None  # why it is shut off, when a check read it
    placement: Placement = Placement.AUTO
    home_host: str | None = None  # where failback returns it
    priority: int = 0  # restart priority after a host loss, higher first (its definition's)
    vcpus: int
    memory_mb: int
    cpu_pct: float = 0.0  # of its own vCPUs
    mem_used_mb: int = 0
    mem_source: MemSource = MemSource.GUEST  # what mem_used_mb is
    disk_rd_bps: float = 0.0
    disk_wr_bps: float = 0.0
    net_rx_bps: float = 0.0
    net_tx_bps: float = 0.0
    disks: tuple[Disk, ...] = ()
    nics: tuple[Nic, ...] = ()
    graphics: tuple[GraphicsConsole, ...] = ()  # its VNC and SPICE displays

    @property
    def where(self) -> str:
        """Its host for a message: never "None"."""
        return self.host or "no host"


class HostMetrics(Frozen):
    """One poll's worth of a host's load."""

    time: float  # seconds since the epoch, from the cluster's clock
    cpu_pct: float
    mem_used_mb: int
    net_rx_bps: float = 0.0
    net_tx_bps: float = 0.0
    disk_rd_bps: float = 0.0
    disk_wr_bps: float = 0.0
    # what the network and disk figures count (the host's own counters); empty when unknown
    net_devices: tuple[str, ...] = ()
    disk_devices: tuple[str, ...] = ()


class HostFacts(Frozen):
    """What a host is: fixed between polls."""

    vcpus: int
    memory_mb: int
    storage_gb: float = 0.0  # data devices (Ceph OSDs or local)
    storage_used_gb: float = 0.0
    os: str = ""
    libvirt_version: str = ""


class HostPoll(Frozen):
    """Everything one poll of one host returns."""

    facts: HostFacts
    metrics: HostMetrics
    vms: tuple[Vm, ...]
    maintenance: bool = False
    # VMs the host's mvm-selffence killed while it was cut off (HA checks only)
    self_fenced: tuple[str, ...] = ()
    # its mvm-selffence has no majority of its peers now: it kills what runs there (HA checks)
    self_fence_active: bool = False


class Host(Frozen):
    name: str
    address: str
    state: HostState = HostState.UNKNOWN
    facts: HostFacts | None = None
    metrics: HostMetrics | None = None
    error: str | None = None  # why the last poll failed
    last_seen: float | None = None  # time of the last successful poll

    @property
    def cpu_pct(self) -> float | None:
        return self.metrics.cpu_pct if self.metrics else None

    @property
    def mem_pct(self) -> float | None:
        if not (self.metrics and self.facts and self.facts.memory_mb):
            return None
        return 100.0 * self.metrics.mem_used_mb / self.facts.memory_mb


class CephCheck(Frozen):
    severity: Literal["HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"]
    message: str
    count: int = 0


class PgStateCount(Frozen):
    state_name: str  # e.g. "active+clean", "active+undersized+degraded"
    count: int


class CephStatus(Frozen):
    """The part of `ceph status -f json` the application uses."""

    health: Literal["HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"]
    checks: dict[str, CephCheck] = Field(default_factory=dict)
    num_mons: int = 0
    quorum_names: tuple[str, ...] = ()
    num_osds: int = 0
    num_up_osds: int = 0
    num_in_osds: int = 0
    osdmap_epoch: int = 0
    pgs_by_state: tuple[PgStateCount, ...] = ()
    num_pgs: int = 0
    bytes_used: int = 0
    bytes_total: int = 0
    degraded_objects: int = 0
    misplaced_objects: int = 0
    num_objects: int = 0

    @property
    def pgs_clean(self) -> int:
        return sum(p.count for p in self.pgs_by_state if p.state_name == "active+clean")


class MigrationProgress(Frozen):
    """A live migration's job progress, as libvirt's job info reports it."""

    vm: str
    source: str
    dest: str
    elapsed_s: float
    memory_total_bytes: int
    memory_processed_bytes: int
    memory_remaining_bytes: int
    dirty_rate_bps: float = 0.0
    downtime_ms: int | None = None  # known once the migration completed
    # the VM is paused on its source for the switch-over (the last pages and the device
    # state move; it runs on the destination next)
    switching_over: bool = False

    @property
    def percent(self) -> float:
        """How much of the memory has been sent; 0 while the job is being set up (libvirt
        reports every figure 0 then)."""
        if self.memory_total_bytes <= 0:
            return 100.0 if self.downtime_ms is not None else 0.0
        total = self.memory_total_bytes
        return max(0.0, 100.0 * (total - self.memory_remaining_bytes) / total)


class EventLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Event(Frozen):
    time: float
    level: EventLevel
    subject: str  # a host or VM name, or the cluster's
    message: str


class ClusterSnapshot(Frozen):
    """The whole cluster as the application last saw it."""

    name: str
    layout: Layout
    time: float
    hosts: tuple[Host, ...]
    vms: tuple[Vm, ...]
    ceph: CephStatus | None = None
    ceph_error: str | None = None
