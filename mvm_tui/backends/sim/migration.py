"""Pre-copy live migration as a closed-form curve.

Memory is sent at `bandwidth` while the guest keeps writing: pages already sent become dirty
again at `dirty_rate` scaled by the share sent so far, so the remaining memory R(t) follows
R' = -B + D (M - R) / M. It starts at M and shrinks ever more slowly (non-linearly); once it
is small enough to send within the allowed downtime the guest is paused and switched over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PrecopyPlan:
    total: float  # bytes of guest memory (M)
    bandwidth: float  # bytes/s (B)
    dirty_rate: float  # bytes/s the guest dirties (D), kept below B
    stop_at: float  # remaining bytes at which it switches over
    duration: float  # seconds until the switch-over

    @classmethod
    def make(
        cls, total: float, bandwidth: float, dirty_rate: float, max_downtime_s: float
    ) -> PrecopyPlan:
        dirty_rate = min(max(dirty_rate, 0.0), 0.5 * bandwidth)
        stop_at = min(total, bandwidth * max_downtime_s)
        plan = cls(total, bandwidth, dirty_rate, stop_at, 0.0)
        return cls(total, bandwidth, dirty_rate, stop_at, plan._time_to(stop_at))

    def _time_to(self, remaining: float) -> float:
        m, b, d = self.total, self.bandwidth, self.dirty_rate
        if remaining >= m:
            return 0.0
        if d <= 0.0:
            return (m - remaining) / b
        r_inf = m * (1.0 - b / d)  # the (negative) asymptote of R(t)
        return math.log((m - r_inf) / (remaining - r_inf)) * m / d

    def remaining(self, t: float) -> float:
        """Bytes still to send t seconds in (the switch-over sends the last stop_at)."""
        m, b, d = self.total, self.bandwidth, self.dirty_rate
        if t >= self.duration:
            return self.stop_at
        if d <= 0.0:
            return m - b * t
        r_inf = m * (1.0 - b / d)
        return r_inf + (m - r_inf) * math.exp(-d * t / m)

    def processed(self, t: float, switched: bool = False) -> float:
        """Bytes sent t seconds in (more than the memory size once pages are resent); the
        switch-over sends the last stop_at bytes while the guest is paused."""
        return self.bandwidth * min(max(t, 0.0), self.duration) + switched * self.stop_at

    def dirty_rate_at(self, t: float) -> float:
        return self.dirty_rate * (self.total - self.remaining(t)) / self.total
