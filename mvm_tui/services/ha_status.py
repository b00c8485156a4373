"""What the HA service shows the UI (services.ha.HaService.status)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mvm_tui.core.failover import Decision, Phase
from mvm_tui.core.ha_journal import Incident, VmHaState


@dataclass(frozen=True)
class HaStatus:
    """For the UI: is this service the active one, and what did it decide lately."""

    cluster: str
    active: bool
    holder: str | None  # who holds the lock when it is not us
    phases: dict[str, Phase]
    decisions: tuple[Decision, ...]  # oldest first, at most MAX_DECISIONS
    pending_failbacks: dict[str, str]  # VM -> home, waiting for the operator (policy "ask")
    trouble: tuple[str, ...] = ()  # what keeps HA from acting or remembering now (say it loudly)
    vms: dict[str, VmHaState] = field(default_factory=dict)  # VMs HA should run and does not
    incidents: tuple[Incident, ...] = ()  # newest first
