"""The failover drill: "what if this host were lost now?", decided by the very planning HA
uses for a real loss (FailoverEngine._plan_fenced) on a copy of an engine: the active HA
service's, or one fed the inventory's snapshot. Mixed into core.failover.FailoverEngine.
Pure: no I/O, no asyncio."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Self

from mvm_tui.core.failover_plan import Decision, DrillReport, HaSettings, Kind, Observation
from mvm_tui.core.failover_vms import Phase, _Host, _Vm
from mvm_tui.core.placement import LIVE
from mvm_tui.models import ClusterSnapshot, HostMetrics, HostPoll, HostState, Layout

if TYPE_CHECKING:
    from collections.abc import Iterable


class Drilling:
    """Declared here, held by FailoverEngine."""

    cluster: str
    _hosts: dict[str, _Host]
    _vms: dict[str, _Vm]

    def __init__(self, settings: HaSettings, hosts: Iterable[str],
                 layout: Layout = Layout.EXTERNAL, cluster: str = "cluster") -> None:
        raise NotImplementedError

    def observe(self, obs: Observation) -> list[Decision]:
        raise NotImplementedError

    def _plan_fenced(self, time: float) -> list[Decision]:
        raise NotImplementedError

    @classmethod
    def from_snapshot(cls, settings: HaSettings, snap: ClusterSnapshot) -> Self:
        """An engine that knows the cluster as the snapshot shows it (a host that does not
        answer is suspect), as an HA service's checks would have told it."""
        engine = cls(settings, [h.name for h in snap.hosts], snap.layout, snap.name)
        for h in snap.hosts:
            if h.facts is None or h.state in (HostState.UNREACHABLE, HostState.UNKNOWN):
                engine._hosts[h.name].phase = Phase.SUSPECT
                continue
            poll = HostPoll(facts=h.facts, metrics=h.metrics or HostMetrics(
                time=snap.time, cpu_pct=0.0, mem_used_mb=0),
                vms=tuple(v for v in snap.vms if v.host == h.name),
                maintenance=h.state is HostState.MAINTENANCE)
            engine.observe(Observation(h.name, snap.time, True, poll))
        return engine

    def drill(self, host: str, time: float) -> DrillReport:
        """What would happen if `host` were lost now: the very planning of a real loss
        (_plan_fenced), on a copy of this engine; nothing changes."""
        if host not in self._hosts:
            raise ValueError(f"no host named {host!r} in cluster {self.cluster}")
        twin = copy.deepcopy(self)
        h = twin._hosts[host]
        h.phase, h.fenced = Phase.FENCED, True
        for other in twin._hosts.values():  # (a fence under way elsewhere holds nothing up)
            other.fence_failed = other.fence_failed or other.phase is Phase.FENCING
        mine = [r.vm for r in twin._vms.values() if r.vm.host == host]
        decisions = twin._plan_fenced(time)
        restarts = tuple((d.vm, d.target) for d in decisions
                         if d.kind is Kind.RESTART and d.vm and d.target and d.host == host)
        stay = tuple((d.vm, d.detail or d.reason) for d in decisions
                     if d.kind is Kind.STAY_DOWN and d.vm and d.host == host)
        return DrillReport(
            host=host, restarts=restarts, stay_down=stay,
            not_running=tuple(sorted(v.name for v in mine if v.power not in LIVE)),
            capacity_ok=not any(d.kind is Kind.STAY_DOWN and d.reason == "no room"
                                and d.host == host for d in decisions))
