"""HA's actions on a simulated cluster, as the HA service builds them (ha_cli)."""

from __future__ import annotations

from mvm_tui.backends.sim import SimBackend
from mvm_tui.services.ha_failover import FailoverActions


def sim_actions(sim: SimBackend, check_timeout: float = 1.5) -> FailoverActions:
    """(The simulator answers at once: the check timeout bounds nothing there.)"""
    return FailoverActions(sim.failover(), check_timeout)
