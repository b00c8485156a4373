"""What happens when a lost host answers again (core.failover's FailoverEngine is a
Returning): its stale copies are removed, it is unfenced, its pinned VMs stay stopped, and
the VMs HA moved off it fail back per policy (on / off / ask), now or, for one whose host
does not answer at that moment, once it does. Pure: no I/O, no asyncio."""

from __future__ import annotations

from mvm_tui.core.failover_plan import Decision, HaSettings, Kind, restart_order
from mvm_tui.core.failover_vms import Phase, VmTracking, _Host
from mvm_tui.core.placement import LIVE, assign, rooms
from mvm_tui.models import ClusterSnapshot, Placement, PowerState, Vm


class Returning(VmTracking):
    """Mixed into FailoverEngine, which holds the settings, hosts and VMs."""

    settings: HaSettings

    def view(self, time: float) -> ClusterSnapshot:
        raise NotImplementedError

    def _reset(self, h: _Host) -> None:
        raise NotImplementedError

    def _back(self, host: str) -> bool:
        raise NotImplementedError

    def _put(self, vm: str, host: str | None, power: PowerState, t: float) -> None:
        raise NotImplementedError

    def failback_failed(self, vm: str, home: str, time: float, error: str) -> list[Decision]:
        """It was not moved back to `home` (the host it left): it stays where it is."""
        return [Decision(time, Kind.FAILBACK_FAILED, home, vm=vm, reason=error)]

    def _returned(self, h: _Host, t: float, why: str = "") -> list[Decision]:
        out = [Decision(t, Kind.RETURNED, h.name, reason=why)]
        out += [Decision(t, Kind.STALE, h.name, vm=v, target=self._vms[v].vm.host,
                         reason=self._how_elsewhere(h, self._vms[v]),
                         detail=f"stopped and undefined on {h.name} before it is unfenced")
                for v in sorted(h.stale)]
        if h.fenced:
            out.append(Decision(t, Kind.UNFENCE, h.name))
            h.fenced = False
        self._reset(h)
        left, h.left_down = h.left_down, []
        pinned = [v for v in left if self._vms[v].vm.placement is Placement.PINNED]
        out += [Decision(t, Kind.KEEP_STOPPED, h.name, vm=v, reason="pinned, start by hand")
                for v in pinned]
        # VMs that found no room elsewhere start again on their own host
        waiting = [self._vms[v].vm for v in left if v not in pinned
                   and self._vms[v].vm.host == h.name and self._vms[v].vm.power not in LIVE]
        out += self._onto(h.name, waiting, Kind.RESTART, t)
        back = []
        for r in (r for r in self._vms.values() if r.home == h.name):
            now_on = r.vm.host
            if (r.vm.power in LIVE and now_on not in (None, h.name)
                    and self.settings.failback != "off"):
                if self._hosts[now_on].phase is not Phase.OK:
                    # it keeps its home: it fails back once that host answers again
                    # (_failbacks_owed), unless it is restarted from there first
                    continue
                back.append(r.vm)
            r.home = None
        return out + self._fail_back(h.name, back, t)

    def _fail_back(self, home: str, vms: list[Vm], t: float) -> list[Decision]:
        if self.settings.failback == "on":
            return self._onto(home, vms, Kind.FAILBACK, t)
        if self.settings.failback == "ask":
            return [Decision(t, Kind.ASK_FAILBACK, home, vm=v.name, target=home)
                    for v in restart_order(vms, self.settings)]
        return []

    def _failbacks_owed(self, h: _Host, t: float) -> list[Decision]:
        """VMs on `h` whose home came back while `h` did not answer (their failback was put
        off): `h` answers now, so they fail back."""
        owed: dict[str, list[Vm]] = {}
        for r in self._vms.values():
            if (r.home is not None and r.vm.host == h.name and r.vm.power in LIVE
                    and r.home in self._hosts and self._back(r.home)):
                owed.setdefault(r.home, []).append(r.vm)
                r.home = None
        return [d for home, vms in sorted(owed.items()) for d in self._fail_back(home, vms, t)]

    def _onto(self, host: str, vms: list[Vm], kind: Kind, t: float,
              reason: str = "") -> list[Decision]:
        """Restart or fail back VMs onto `host`, within its room, most important first."""
        if not vms:
            return []
        room = {k: r for k, r in rooms(self.view(t), self.settings.limits).items() if k == host}
        # assign() never "moves" a VM onto the host it is on: a VM starting again on its own
        # host is placed as if it were nowhere yet
        nowhere = [v.model_copy(update={"host": None}) for v in restart_order(vms, self.settings)]
        done = assign(nowhere, room)
        out = []
        for vm in restart_order(vms, self.settings):
            if vm.name in done.placed:
                self._put(vm.name, host, PowerState.RUNNING, t)
                out.append(Decision(t, kind, host, vm=vm.name, target=host, reason=reason))
            else:
                failed = Kind.RESTART_FAILED if kind is Kind.RESTART else Kind.FAILBACK_FAILED
                out.append(Decision(t, failed, host, vm=vm.name, reason=f"no room on {host}",
                                    detail=done.unplaced[vm.name]))
        return out

