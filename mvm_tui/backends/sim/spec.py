"""What a simulated cluster is made of, and the tunables of how it behaves."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mvm_tui.backends.libvirt.uri import DEFAULT_TRANSPORT, Transport
from mvm_tui.models import GraphicsConsole, Layout, Placement, PowerState

GB = 1_000_000_000  # storage sizes are decimal, as disk vendors and `ceph df` count them
MIB = 1 << 20  # memory sizes are binary


@dataclass(frozen=True)
class SimHostSpec:
    name: str
    address: str
    vcpus: int
    memory_mb: int
    storage_gb: float  # data devices in all (split evenly over data_devices, one OSD each)
    os: str = "Ubuntu 22.04.4 LTS"
    data_devices: tuple[str, ...] = ("/dev/sdb",)


@dataclass(frozen=True)
class SimVmSpec:
    name: str
    host: str
    vcpus: int
    memory_mb: int
    disk_gb: float
    placement: Placement = Placement.AUTO
    power: PowerState = PowerState.RUNNING
    home_host: str | None = None  # None: its host when the placement is failover or pinned
    network: str = "compute"
    vlan: int | None = None
    extra_disks_gb: tuple[float, ...] = ()  # vdb, vdc, ...
    load: float | None = None  # typical share of its vCPUs in use (0-1); None: drawn from the seed
    # False: the guest ignores ACPI, so a shutdown never completes, and has no guest agent
    acpi: bool = True
    vnc_port: int | None = None  # its VNC display's port, on 127.0.0.1 (libvirt's default)
    # the snapshots of its disks at the start (HCI): (name, its age in seconds, consistency)
    snapshots: tuple[tuple[str, float, str], ...] = ()

    @property
    def graphics(self) -> tuple[GraphicsConsole, ...]:
        """Its displays, as a running domain's XML would list them."""
        if self.vnc_port is None:
            return ()
        return (GraphicsConsole(kind="vnc", port=self.vnc_port, listen="127.0.0.1"),)


@dataclass(frozen=True)
class SimClusterSpec:
    name: str
    layout: Layout
    hosts: list[SimHostSpec]
    vms: list[SimVmSpec] = field(default_factory=list)
    # -- hosts and libvirt
    ssh_user: str = "root"
    libvirt_transport: Transport = DEFAULT_TRANSPORT  # of the URIs the previews show
    libvirt_version: str = "9.0.0"
    connect_timeout_s: float = 10.0  # an unreachable host fails a call after this long
    host_base_cpu_pct: float = 2.0  # the host's own load, before its VMs
    host_base_mem_mb: int = 1536
    boot_s: float = 20.0  # a started VM runs at once; its guest boots (busy CPU) this long
    shutdown_s: float = 15.0  # ACPI shutdown: "shutting down" this long, then "shut off"
    # a VM's load is sampled this often (each VM at its own phase); 0: at every poll, as real
    # hosts' counters move. Large clusters sample less often so that a poll costs what changed.
    vm_load_period_s: float = 0.0
    # -- live migration
    migration_bandwidth_bps: float = 1.1e9  # bytes/s, about what 10GbE gives
    migration_max_downtime_s: float = 0.3  # libvirt's default max downtime (300 ms)
    migration_progress_s: float = 1.0  # on_progress is called this often
    # -- Ceph (HCI only)
    pgs: int = 128
    pool_size: int = 2
    pool_min_size: int = 1
    object_size: int = 4 * MIB  # RBD objects
    down_out_interval_s: float = 600.0  # mon_osd_down_out_interval
    recovery_rate_bps: float = 150e6  # bytes/s the whole cluster recovers or backfills
    recovery_max_pgs: int = 4  # PGs recovering at once; the others wait
    pg_stats_lag_s: float = 3.0  # PG states reported this late after an osdmap change
    pg_rewrite_per_s: float = 1 / 3600  # share of a PG's objects written per second of absence
    osd_overhead_bytes: int = 1 << 30  # BlueStore's own use of each OSD
    nearfull_ratio: float = 0.85  # what `ceph osd dump` says (mon_osd_nearfull_ratio)
    mon_election_s: float = 15.0  # a stopped monitor stays in the quorum this long (lab: ~15 s)

    def validate(self) -> None:
        """Raise ValueError when the spec does not describe a possible cluster."""
        hosts = [h.name for h in self.hosts]
        if not hosts:
            raise ValueError(f"cluster {self.name}: no hosts")
        dup = [n for n, k in Counter(hosts).items() if k > 1]
        if dup:
            raise ValueError(f"cluster {self.name}: duplicate hosts {sorted(dup)}")
        names = [v.name for v in self.vms]
        dup = [n for n, k in Counter(names).items() if k > 1]
        if dup:
            raise ValueError(f"cluster {self.name}: duplicate VMs {sorted(dup)}")
        known = set(hosts)
        for v in self.vms:
            if v.host not in known:
                raise ValueError(f"VM {v.name}: unknown host {v.host}")
            if v.home_host is not None and v.home_host not in known:
                raise ValueError(f"VM {v.name}: unknown home host {v.home_host}")
            if v.vcpus < 1 or v.memory_mb < 1 or v.disk_gb <= 0:
                raise ValueError(f"VM {v.name}: vcpus, memory and disk must be positive")
        if not 1 <= self.pool_min_size <= self.pool_size:
            raise ValueError("pool_min_size must be between 1 and pool_size")
        if self.pgs < 1 or self.recovery_max_pgs < 1 or self.recovery_rate_bps <= 0:
            raise ValueError("pgs, recovery_max_pgs and recovery_rate_bps must be positive")
        if self.migration_bandwidth_bps <= 0 or self.migration_progress_s <= 0:
            raise ValueError("migration bandwidth and progress interval must be positive")
