"""Ready-made simulated clusters: the `--demo` one and a big one for benchmarks."""

from __future__ import annotations

import math
import random

from mvm_tui.backends.sim.backend import SimBackend
from mvm_tui.backends.sim.spec import SimClusterSpec, SimHostSpec, SimVmSpec
from mvm_tui.clock import Clock
from mvm_tui.models import Layout, Placement, PowerState

A, F, P = Placement.AUTO, Placement.FAILOVER, Placement.PINNED
DAY = 86400.0


def demo_spec() -> SimClusterSpec:
    """Three HCI hosts (4 vCPU, 16 GB, one 250 GB OSD and one monitor each), eight VMs (the
    guest of license-srv ignores ACPI shutdown requests and has no agent; web-01, web-02 and
    app-01 have a VNC display; db-01 and ci-runner-01 have snapshots)."""
    hosts = [
        SimHostSpec(f"hv{i}", f"192.0.2.{10 + i}", vcpus=4, memory_mb=16384, storage_gb=250.0)
        for i in (1, 2, 3)
    ]
    off = PowerState.SHUTOFF
    vms = [
        # name, host, vcpus, memory, disk, placement, VLAN, load
        SimVmSpec("web-01", "hv1", 1, 2048, 20, A, vlan=22, load=0.22, vnc_port=5900),
        SimVmSpec("db-01", "hv1", 2, 4096, 60, F, vlan=23, load=0.35, extra_disks_gb=(100,),
                  snapshots=(("before-pg16", 9 * DAY, "frozen"), ("weekly", 2 * DAY, "frozen"))),
        # an old appliance whose guest ignores ACPI: its shutdown never completes
        SimVmSpec("license-srv", "hv1", 1, 1024, 10, P, vlan=25, load=0.04, acpi=False),
        SimVmSpec("web-02", "hv2", 1, 2048, 20, A, vlan=22, load=0.2, vnc_port=5900),
        SimVmSpec("app-01", "hv2", 2, 3072, 40, A, vlan=24, load=0.3, vnc_port=5901),
        SimVmSpec("monitor-01", "hv2", 1, 2048, 30, F, vlan=25, load=0.15),
        SimVmSpec("cache-01", "hv3", 1, 2048, 10, A, vlan=24, load=0.12),
        SimVmSpec("ci-runner-01", "hv3", 2, 4096, 50, A, power=off, vlan=24, load=0.6,
                  snapshots=(("clean-install", 30 * DAY, "stopped"),)),
    ]
    return SimClusterSpec(name="demo", layout=Layout.HCI, hosts=hosts, vms=vms)


def demo_cluster(clock: Clock, seed: int = 7) -> SimBackend:
    return SimBackend(demo_spec(), clock, seed=seed)


_ROLES = ("web", "app", "db", "cache", "queue", "search", "ci", "batch", "proxy", "mail")
_SIZES = ((1, 1024), (1, 2048), (2, 2048), (2, 4096), (4, 4096), (4, 8192), (8, 16384))
_SIZE_WEIGHTS = (10, 20, 25, 20, 12, 9, 4)


def scaled_spec(
    hosts: int = 64, vms: int = 5000, seed: int = 1, load_period: float = 10.0
) -> SimClusterSpec:
    """A big HCI cluster: `hosts` hosts of 64 vCPU / 512 GB (more memory when the VMs need
    it), one OSD each, 3 replicas, with `vms` VMs spread over them, their load sampled every
    `load_period` seconds (0: at every poll)."""
    if hosts < 1 or vms < 0:
        raise ValueError("hosts must be positive and vms not negative")
    rng = random.Random(seed)
    sizes = rng.choices(_SIZES, _SIZE_WEIGHTS, k=vms)
    disks = [rng.choice((20, 40, 80, 120, 200)) for _ in range(vms)]
    # 512 GB a host, or more when the VMs need it (25% headroom over an even spread)
    memory_mb = max(512 * 1024, 65536 * math.ceil(1.25 * sum(m for _, m in sizes) / hosts / 65536))
    raw_gb = 3 * 0.5 * sum(disks)  # three replicas of images about half full
    storage_gb = max(4000.0, math.ceil(raw_gb / hosts / 0.6 / 1000) * 1000.0)
    host_specs = [
        SimHostSpec(
            f"hv{i:03d}",
            f"10.20.{i // 200}.{10 + i % 200}",
            vcpus=64,
            memory_mb=memory_mb,
            storage_gb=storage_gb,
        )
        for i in range(1, hosts + 1)
    ]
    free = [memory_mb - 4096] * hosts
    counts = dict.fromkeys(_ROLES, 0)
    vm_specs = []
    for i in range(vms):
        (vcpus, mem), role = sizes[i], _ROLES[i % len(_ROLES)]
        counts[role] += 1
        h = i % hosts
        while free[h] < mem:  # first fit from its round-robin slot
            h = (h + 1) % hosts
        free[h] -= mem
        r = rng.random()
        placement = A if r < 0.7 else F if r < 0.9 else P
        power = PowerState.SHUTOFF if rng.random() < 0.05 else PowerState.RUNNING
        vm_specs.append(
            SimVmSpec(
                f"{role}-{counts[role]:04d}",
                host_specs[h].name,
                vcpus,
                mem,
                disks[i],
                placement,
                power,
                vlan=22 + i % 4,
                load=rng.uniform(0.03, 0.3),
            )
        )
    return SimClusterSpec(
        name="scaled",
        layout=Layout.HCI,
        hosts=host_specs,
        vms=vm_specs,
        pgs=2048,
        pool_size=3,
        pool_min_size=2,
        recovery_rate_bps=2e9,
        recovery_max_pgs=32,
        vm_load_period_s=load_period,
    )


def scaled_cluster(clock: Clock, hosts: int = 64, vms: int = 5000, seed: int = 1,
                   load_period: float = 10.0) -> SimBackend:
    return SimBackend(scaled_spec(hosts, vms, seed, load_period), clock, seed=seed)
