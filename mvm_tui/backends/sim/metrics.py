"""Load of simulated VMs and hosts: smooth, deterministic functions of (seed, entity, time).

Nothing here steps through time: a metric at time t is computed from t alone (seeded sines
for the daily and slower cycles, plus value noise hashed per time bucket and interpolated),
so hours of cluster time cost nothing and the same seed always gives the same numbers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import NamedTuple

TAU = 2 * math.pi
DAY = 86_400.0
_M64 = 0xFFFF_FFFF_FFFF_FFFF
_GOLDEN = 0x9E37_79B9_7F4A_7C15
_INV64 = 1.0 / 2**64
_TABLE_BITS = 16
_TABLE_MASK = (1 << _TABLE_BITS) - 1
# One shared table of uniform values; each noise channel reads it from its own seeded offset.
# Fixed (not per instance) so it is built once; at 30 s a bucket it repeats after 22 days.
_rng = random.Random(0x51EE7)
_TABLE = [_rng.random() for _ in range(1 << _TABLE_BITS)]
del _rng


def mix64(x: int) -> int:
    """SplitMix64's finalizer: a well-spread 64-bit hash of x."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB) & _M64
    return x ^ (x >> 31)


def unit(seed: int, k: int) -> float:
    """A uniform number in [0, 1), fixed for (seed, k)."""
    return mix64(seed ^ ((k * _GOLDEN) & _M64)) * _INV64


def noise(seed: int, t: float, period: float) -> float:
    """Value noise in [-1, 1]: a value per `period`-second bucket (read from the shared table
    at an offset given by seed), smoothly interpolated in between."""
    x = t / period
    k = math.floor(x)
    f = x - k
    f = f * f * (3.0 - 2.0 * f)
    i = (seed + k) & _TABLE_MASK
    a = _TABLE[i]
    return 2.0 * (a + (_TABLE[(i + 1) & _TABLE_MASK] - a) * f) - 1.0


def clamp(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class Sample(NamedTuple):
    """A VM's load at one moment."""

    cpu_pct: float
    mem_used_mb: int
    disk_rd_bps: float
    disk_wr_bps: float
    net_rx_bps: float
    net_tx_bps: float


IDLE = Sample(0.0, 0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class VmProfile:
    """How one VM behaves: drawn once from the cluster's seed."""

    seed: int
    load: float  # typical share of its vCPUs in use
    day_phase: float  # where in the day its peak falls (0-1)
    mem_share: float  # typical share of its memory the guest uses
    mem_phase: float
    disk_rd_bps: float  # typical rates at typical load
    disk_wr_bps: float
    net_rx_bps: float
    net_tx_bps: float
    dirty_share: float  # memory it dirties per second, as a share of the migration link
    disk_fill: float  # share of its disks' provisioned size actually written

    @classmethod
    def draw(cls, rng: random.Random, load: float | None = None) -> VmProfile:
        return cls(
            seed=rng.getrandbits(64),
            load=clamp(load if load is not None else rng.uniform(0.05, 0.5), 0.0, 1.0),
            day_phase=rng.random(),
            mem_share=rng.uniform(0.35, 0.8),
            mem_phase=rng.random(),
            disk_rd_bps=rng.uniform(0.2e6, 8e6),
            disk_wr_bps=rng.uniform(0.1e6, 4e6),
            net_rx_bps=rng.uniform(20e3, 6e6),
            net_tx_bps=rng.uniform(20e3, 10e6),
            dirty_share=rng.uniform(0.02, 0.08),
            disk_fill=rng.uniform(0.25, 0.7),
        )

    def sample(
        self, memory_mb: int, t: float, booted_at: float, boot_s: float, shutting_down: bool
    ) -> Sample:
        """The VM's load at time t, running since booted_at."""
        s = self.seed
        age = t - booted_at
        if age < boot_s:  # the guest is booting: busy CPU, reading its image, memory filling
            x = age / boot_s if age > 0.0 else 0.0
            cpu = 75.0 + 20.0 * noise(s >> 48, t, 2.0)
            mem = 0.08 + (self.mem_share - 0.08) * x
            rd = 60e6 * (1.0 - x) + self.disk_rd_bps * x
            wr = 1e6 + self.disk_wr_bps * x
            rx, tx = self.net_rx_bps * 0.1 * x, self.net_tx_bps * 0.05 * x
        else:  # always positive: busy >= 0.55 * 0.35, io >= 0.7 * busy
            day = 0.5 + 0.5 * math.sin(TAU * (t / DAY + self.day_phase))
            n_slow = noise(s >> 16, t, 420.0)
            jitter = 0.1 * noise(s >> 8, t, 5.0)  # what makes two polls seconds apart differ
            busy = (0.55 + 0.9 * day) * (1.0 + 0.35 * noise(s, t, 30.0) + 0.2 * n_slow + jitter)
            cpu = 100.0 * self.load * busy
            mem = self.mem_share + 0.04 * math.sin(TAU * (t / 5400.0 + self.mem_phase))
            mem += 0.02 * n_slow
            io = busy * (1.0 + 0.3 * noise(s >> 32, t, 15.0))
            rd, wr = self.disk_rd_bps * io, self.disk_wr_bps * io
            rx, tx = self.net_rx_bps * io, self.net_tx_bps * io
        if shutting_down:
            cpu, rd, wr, rx, tx = cpu * 0.5, rd * 0.3, wr * 1.5, rx * 0.1, tx * 0.1
        cpu = 100.0 if cpu > 100.0 else 0.1 if cpu < 0.1 else round(cpu, 2)
        mem = 0.98 if mem > 0.98 else 0.02 if mem < 0.02 else mem
        return Sample(cpu, int(memory_mb * mem), rd, wr, rx, tx)


def host_base_cpu(seed: int, t: float, base_pct: float) -> float:
    """The host's own CPU use (kernel, libvirt, Ceph daemons): around base_pct."""
    return base_pct * (1.0 + 0.5 * noise(seed, t, 60.0))


def host_base_io(seed: int, t: float) -> tuple[float, float, float, float]:
    """The host's own disk and network traffic (logs, monitoring, Ceph heartbeats)."""
    n = 1.0 + 0.5 * noise(seed >> 16, t, 30.0)
    return 50e3 * n, 200e3 * n, 30e3 * n, 30e3 * n
