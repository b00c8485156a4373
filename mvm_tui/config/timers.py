"""[timers]: how often hosts are polled and how long things may take."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from mvm_tui.config.fields import StrictModel
from mvm_tui.core.failover_plan import timer_problem


def _seconds(default: float, description: str) -> Any:
    return Field(default=default, gt=0, allow_inf_nan=False, description=description)


class Timers(StrictModel):
    """How often hosts are polled and how long things may take, in seconds."""

    poll_interval: float = _seconds(2.0, "Seconds between two polls of a host.")
    poll_timeout: float = _seconds(
        8.0, "Seconds a poll may take; a host that does not answer within it is unreachable."
    )
    slow_threshold: float = _seconds(3.0, "A poll slower than this shows the host as slow.")
    metrics_window: float = _seconds(600.0, "Seconds of metric history kept for the charts.")
    power_timeout: float = _seconds(120.0, "Seconds a VM power action may take to take effect.")
    ha_check_interval: float = _seconds(5.0, "Seconds between two HA liveness checks of a host.")
    ha_grace_period: float = _seconds(
        30.0, "Seconds a host must fail its HA checks before it is declared lost."
    )
    ha_check_timeout: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="Seconds one HA liveness check may take, below ha_check_interval "
        "(default: 80% of it, at most 4).",
    )
    ha_blocklist_expiry: float = _seconds(
        3600.0, "Seconds a lost host's Ceph clients stay blocklisted unless let back sooner."
    )

    @property
    def check_timeout(self) -> float:
        if self.ha_check_timeout is not None:
            return self.ha_check_timeout
        return min(4.0, 0.8 * self.ha_check_interval)

    @model_validator(mode="after")
    def _relations(self) -> Timers:
        if self.slow_threshold >= self.poll_timeout:
            raise ValueError(
                f"slow_threshold ({self.slow_threshold:g} s) must be below poll_timeout "
                f"({self.poll_timeout:g} s): a poll slower than the threshold shows a host as "
                "slow, one longer than the timeout as unreachable"
            )
        if self.metrics_window < self.poll_interval:
            raise ValueError(
                f"metrics_window ({self.metrics_window:g} s) must be at least poll_interval "
                f"({self.poll_interval:g} s), or the charts stay empty"
            )
        # (the default check_timeout is always below ha_check_interval: only a set one fails)
        problem = timer_problem(self.ha_check_interval, self.check_timeout,
                                self.ha_grace_period, self.ha_blocklist_expiry, prefix="ha_")
        if problem is not None:
            raise ValueError(problem)
        return self
