"""What a host that answers again says about its VMs that died while HA did not restart them
elsewhere (core.failover's FailoverEngine is a HostDeaths): those its self-fence killed
(its marker, /run/mvm-tui/selffenced) and those that died with it (a power cut its checks saw
as a short outage). They start again on that host. Pure: no I/O, no asyncio."""

from __future__ import annotations

from mvm_tui.core.failover_plan import Decision, Kind
from mvm_tui.core.failover_return import Returning
from mvm_tui.core.failover_vms import _Host
from mvm_tui.core.placement import LIVE
from mvm_tui.models import HostPoll, StopReason

# why libvirt says a VM is shut off after its host (or libvirtd) restarted under it: "unknown"
# (a host power-cut, captured in the lab: tests/fixtures/libvirt/stop-reasons.txt) and
# "daemon"; never "shutdown" or "destroyed" (someone stopped it)
DIED_WITH_HOST = frozenset({StopReason.UNKNOWN, StopReason.DAEMON})


class HostDeaths(Returning):
    """Mixed into FailoverEngine, which holds the hosts and VMs and places restarts."""

    def _self_fenced(self, h: _Host, poll: HostPoll | None, t: float) -> list[Decision]:
        """It was cut off long enough for its self-fence to kill its VMs, not long enough to
        be declared lost: nobody restarts them elsewhere, so they start again here (those
        still on it and not running), once its self-fence no longer kills what runs there.
        First the SELF_FENCED decision (its marker is cleared), then the restarts."""
        unread = self._unread(h, poll)
        if poll is None or not unread:
            return []
        killed = [self._vms[v].vm for v in unread if v in self._vms
                  and self._vms[v].vm.host == h.name and self._vms[v].vm.power not in LIVE]
        names = ", ".join(unread)
        if killed and poll.self_fence_active:  # (it still has no majority of its peers)
            told, h.held_down = h.held_down, {v.name for v in killed}
            return [Decision(t, Kind.STAY_DOWN, h.name, vm=v.name, reason="self-fenced",
                             detail=f"killed by the self-fence of {h.name}, which still has "
                             "no majority of its peers: started there once it has")
                    for v in killed if v.name not in told]
        h.held_down = set()
        h.marker_read |= set(unread)
        if not killed:
            return [Decision(t, Kind.SELF_FENCED, h.name, reason=names,
                             detail="cleared: none of them is left down here")]
        return [Decision(t, Kind.SELF_FENCED, h.name, target=h.name, reason=names,
                         detail="killed by its self-fence while it was cut off: started here"),
                *self._onto(h.name, killed, Kind.RESTART, t)]

    def _seen_live(self, host: str) -> set[str]:
        """The VMs a check (not a decision) last saw live on the host."""
        return {name for name, r in self._vms.items() if r.seen is not None
                and r.seen.host == host and r.seen.power in LIVE}

    def _died(self, h: _Host, live_before: set[str], poll: HostPoll | None,
              t: float) -> list[Decision]:
        """VMs that ran here at its last check and are shut off now with the reason libvirt
        gives after its host (or libvirtd) restarted: they died with it (a power cut its checks
        saw as a short outage, its Ceph OSDs still up), and nobody restarted them elsewhere.
        They start again here. Not a VM shut down or powered off by anyone (their reasons
        say so), nor one its self-fence killed (restarted by _self_fenced)."""
        if poll is None:
            return []
        died = [self._vms[v.name].vm for v in poll.vms
                if v.name in live_before and v.stop_reason in DIED_WITH_HOST
                and v.name not in poll.self_fenced and v.name in self._vms
                and self._vms[v.name].vm.host == h.name
                and self._vms[v.name].vm.power not in LIVE]
        return self._onto(h.name, died, Kind.RESTART, t, "it died with its host")

    @staticmethod
    def _unread(h: _Host, poll: HostPoll | None) -> list[str]:
        """The VMs of the host's self-fence marker not decided on yet."""
        return [] if poll is None else [v for v in poll.self_fenced if v not in h.marker_read]
