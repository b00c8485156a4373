"""Automatic failover as a pure state machine per host, driven by liveness checks over time.

    OK -> SUSPECT (first failed check) -> LOST (failed for the whole grace period; on HCI only
    once its Ceph OSDs are down too) -> FENCING (blocklist its Ceph clients, optional IPMI
    power-off) -> FENCED (confirmed by the caller) -> RECOVERED (its VMs restarted elsewhere)

A host that answers while SUSPECT is OK again: a flapping link never causes a failover. A lost
host that answers again RETURNED: the copies it still has of VMs restarted elsewhere (it was only
cut off, or its libvirt kept their definitions) are stale and removed there first (STALE), then
it is unfenced deliberately, then its moved VMs fail back per policy (on / off / ask); its
pinned VMs stay stopped until started by hand. A stale copy is never taken for the VM.

The engine never acts: it returns Decisions (data). The caller carries them out and reports
back: fence_done() is the only way to get Restart decisions, so no VM of a lost host is ever
restarted before that host is fenced. No I/O, no asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable

from mvm_tui.core.failover_deaths import HostDeaths
from mvm_tui.core.failover_drill import Drilling
from mvm_tui.core.failover_plan import (
    Decision,
    DrillReport,
    FailbackPolicy,
    HaSettings,
    Kind,
    Observation,
    RestartPlan,
    plan_restarts,
    restart_order,
)
from mvm_tui.core.failover_vms import DOWN_PHASES, Phase, _Host, _Vm
from mvm_tui.core.placement import LIVE, assign, rooms
from mvm_tui.models import (
    ClusterSnapshot,
    Host,
    HostPoll,
    HostState,
    Layout,
    PowerState,
    Vm,
)

__all__ = [
    "Decision", "DrillReport", "FailbackPolicy", "FailoverEngine", "HaSettings", "Kind",
    "Observation", "Phase", "RestartPlan", "drill", "plan_restarts", "restart_order",
]




class FailoverEngine(Drilling, HostDeaths):
    def __init__(
        self,
        settings: HaSettings,
        hosts: Iterable[str],
        layout: Layout = Layout.EXTERNAL,
        cluster: str = "cluster",
    ) -> None:
        self.settings = settings
        self.layout = layout
        self.cluster = cluster
        self._hosts = {h: _Host(h) for h in hosts}
        self._vms: dict[str, _Vm] = {}
        self._waiting: dict[str, str] = {}  # VM -> its lost host: left down for want of room
        self._failed_on: dict[str, dict[str, float]] = {}  # VM -> host -> its last failed start
        # hosts no VM may start on though they answer (an unfence that failed), with why: the
        # service's own mapping, read at every plan
        self.unusable: dict[str, str] = {}

    # -- reading

    def phase(self, host: str) -> Phase:
        return self._hosts[host].phase

    def phases(self) -> dict[str, Phase]:
        return {h.name: h.phase for h in self._hosts.values()}

    def view(self, time: float) -> ClusterSnapshot:
        """The cluster as the engine knows it: hosts usable only when OK and not in
        maintenance; VMs where last seen (or where a decision put them)."""
        hosts = []
        for h in self._hosts.values():
            if h.phase is not Phase.OK or h.name in self.unusable:
                state = HostState.UNREACHABLE
            else:
                state = HostState.MAINTENANCE if h.maintenance else HostState.ONLINE
            hosts.append(Host(name=h.name, address="", state=state, facts=h.facts))
        vms = tuple(r.vm for r in self._vms.values() if r.vm.host is not None)
        return ClusterSnapshot(name=self.cluster, layout=self.layout, time=time,
                               hosts=tuple(hosts), vms=vms)

    # -- input

    def observe(self, obs: Observation) -> list[Decision]:
        """Feed one check's result; returns the decisions it leads to."""
        h = self._hosts.get(obs.host)
        if h is None:  # it left the cluster since the check was sent
            return []
        return self._answered(h, obs) if obs.ok else self._silent(h, obs)

    def _answered(self, h: _Host, obs: Observation) -> list[Decision]:
        t = obs.time
        if h.phase is Phase.FENCING and h.fence_running:
            # what it says now is undone by the fence if it takes effect: decided when it ends
            if h.answered:
                return []
            h.answered = True
            return [Decision(t, Kind.ANSWERED, h.name,
                             reason="while its fence runs: decided when the fence ends")]
        if h.phase is Phase.FENCED:
            return []  # its VMs died with its fence; their restarts wait for another fence
        if obs.poll is not None and not obs.poll.self_fenced:
            h.marker_read = set()  # (cleared: a marker read from now on is news)
        live_before = self._seen_live(h.name)
        if obs.poll is not None:
            started = obs.time if obs.started is None else obs.started
            self._absorb(h, obs, started)
            h.last_ok = max(h.last_ok, started)
        if h.phase is Phase.SUSPECT and not h.fenced:
            self._reset(h)
            killed = self._self_fenced(h, obs.poll, t)
            return [*killed[:1], Decision(t, Kind.OK, h.name, reason="answered again"),
                    *killed[1:], *self._died(h, live_before, obs.poll, t),
                    *self._retry_waiting(t, h.name), *self._failbacks_owed(h, t)]
        # (fenced and OK or SUSPECT: known fenced from HA's kept state, by a new process)
        if h.restarting and h.phase in DOWN_PHASES:
            h.restarting = {v for v in h.restarting if not self._seen_elsewhere(h, v)}
            if h.restarting:  # taken back once the restarts of its VMs are carried out
                return []
        if obs.poll is None:
            return []
        if h.phase in DOWN_PHASES or h.fenced:
            # back only once it says what it runs: its stale copies go before its unfence
            return self._back_again(h, obs.poll, live_before, t)
        # a cut-off or a restart its checks did not see (too short, or slow checks)
        return (self._self_fenced(h, obs.poll, t) + self._died(h, live_before, obs.poll, t)
                + self._retry_waiting(t, h.name) + self._failbacks_owed(h, t))

    def _back_again(self, h: _Host, poll: HostPoll, live_before: set[str],
                    t: float) -> list[Decision]:
        """A host down (or fenced) answers again and says what it runs."""
        if h.phase in (Phase.LOST, Phase.FENCING):  # nothing of it restarted elsewhere:
            back = self._returned(h, t)  # what its self-fence killed starts here again
            killed = self._self_fenced(h, poll, t)
            return (killed[:1] + back + killed[1:] + self._died(h, live_before, poll, t)
                    + self._retry_waiting(t, h.name))
        # (its VMs were restarted elsewhere or left down by policy: a self-fence marker is
        # old news, cleared)
        old = [] if not self._unread(h, poll) else [Decision(
            t, Kind.SELF_FENCED, h.name, reason=", ".join(poll.self_fenced),
            detail="cleared: not restarted (it was lost and fenced)")]
        h.marker_read |= set(poll.self_fenced)
        return old + self._returned(h, t) + self._retry_waiting(t, h.name)

    def _silent(self, h: _Host, obs: Observation) -> list[Decision]:
        t = obs.time
        out: list[Decision] = []
        if h.phase is Phase.OK:
            h.phase, h.since = Phase.SUSPECT, t
            out.append(Decision(t, Kind.SUSPECT, h.name))
        if h.phase is Phase.SUSPECT and t - h.since >= self.settings.grace_period:
            if self.layout is Layout.HCI and obs.osds_down is False:
                if not h.held:
                    h.held = True
                    out.append(Decision(t, Kind.HOLD, h.name, reason="its ceph osds are up",
                                        detail="unreachable for the grace period, but Ceph "
                                        "still sees its OSDs up: not declared lost"))
                return out
            h.phase = Phase.LOST
            out.append(Decision(t, Kind.LOST, h.name))
            if h.maintenance and not self._live_on(h.name):
                out.append(Decision(t, Kind.DOWN, h.name,
                                    reason="in maintenance, nothing to recover"))
                return out
            out += self._fence(h, t)
        elif h.phase is Phase.FENCING and t - h.fence_tried >= self.settings.fence_retry:
            out += self._fence(h, t)
        return out

    def lost_now(self, host: str) -> bool:
        """Whether VMs of `host` may start elsewhere (with its fence in place): this engine
        declared it lost, or the kept state says it was fenced and it has not answered this
        engine since. Never merely because a blocklist entry exists."""
        h = self._hosts.get(host)
        if h is None:
            return False
        return h.phase in DOWN_PHASES or (h.fenced and h.last_ok == float("-inf")
                                          and h.phase is not Phase.OK)

    def fencing(self, host: str) -> bool:
        """Whether a fence of the host is still wanted (it did not answer again since)."""
        h = self._hosts.get(host)
        return h is not None and h.phase is Phase.FENCING

    def forget_host(self, host: str) -> None:
        """The host left the cluster (decommissioned): never checked, lost, fenced or a
        target again; what was kept about it goes (a VM waiting for it may start anywhere)."""
        if self._hosts.pop(host, None) is None:
            return
        for name, rec in list(self._vms.items()):
            if rec.vm.host == host:
                del self._vms[name]
                self._waiting.pop(name, None)
            elif rec.home == host:
                rec.home = None

    def fence_running(self, host: str) -> None:
        """A fence run of the host begins: if it answers before the run ends, the run's
        outcome decides (fence_done or fence_failed), not the answer."""
        self._hosts[host].fence_running = True

    def answered_while_fenced(self, host: str) -> bool:
        """It answered while its fence run was executing (that run has not been reported)."""
        return self._hosts[host].answered

    def fence_done(self, host: str, time: float, how: str = "fenced") -> list[Decision]:
        """The host is fenced: restart its VMs elsewhere, once every host being fenced with
        it is (restart priority holds across all the hosts lost at once). A host that
        answered while its fence ran is treated as a lost host all the same (its VMs died):
        as Proxmox HA recovers a fenced node's services on other nodes, they restart
        elsewhere; it returns (stale copies removed, unfenced) at its next check."""
        h = self._hosts[host]
        if h.phase is not Phase.FENCING:
            return []
        out: list[Decision] = []
        if h.answered:
            out.append(Decision(time, Kind.FENCED, h.name,
                                reason=f"the fence took effect after it answered ({how}): its "
                                "VMs are down, restarted elsewhere"))
        h.phase, h.fenced, h.fence_failed = Phase.FENCED, True, False
        h.fence_running = h.answered = False
        return out + self._plan_fenced(time)

    def _plan_fenced(self, time: float) -> list[Decision]:
        """Restart the VMs of every fenced host, once no other lost host is still being
        fenced (a failed fence does not hold them back)."""
        if any(o.phase is Phase.FENCING and not o.fence_failed for o in self._hosts.values()):
            return []
        lost = [o for o in self._hosts.values() if o.phase is Phase.FENCED]
        if not lost:
            return []
        names = {o.name for o in lost}
        view = self.view(time)
        nowhere = self._maybe_on(lost)
        if nowhere:  # went missing when they could have arrived on a lost host unseen
            view = view.model_copy(update={"vms": view.vms + tuple(
                self._vms[v].vm.model_copy(update={"host": lost_on})
                for v, lost_on in nowhere.items())})
        plan = plan_restarts(view, names, self.settings)
        origin = {v.name: v.host or "" for v in view.vms}
        out: list[Decision] = []
        for vm, target in plan.restarts:
            rec = self._vms[vm]
            rec.home = rec.home or origin[vm]
            self._put(vm, target, PowerState.RUNNING, time)
            self._hosts[origin[vm]].restarting.add(vm)
            out.append(Decision(time, Kind.RESTART, origin[vm], vm=vm, target=target))
        for vm, reason, detail in plan.stay_down:
            self._hosts[origin[vm]].left_down.append(vm)
            if reason == "no room":
                self._waiting[vm] = origin[vm]
                self._put(vm, origin[vm], PowerState.SHUTOFF, time)
            out.append(Decision(time, Kind.STAY_DOWN, origin[vm], vm=vm, reason=reason,
                                detail=detail))
        for o in lost:
            o.phase = Phase.RECOVERED
        return out

    def _maybe_on(self, lost: list[_Host]) -> dict[str, str]:
        """VMs seen running, then gone from their host, at a time when they could have
        arrived unseen on a lost host (after its last check that answered): a live migration
        that switched over to it just before it was lost. VM -> that host."""
        out = {}
        for rec in self._vms.values():
            if rec.vm.host is None and rec.vm.power in LIVE:
                could = [o.name for o in lost if rec.updated > o.last_ok]
                if could:
                    out[rec.vm.name] = sorted(could)[0]
        return out

    def fence_failed(self, host: str, time: float, error: str) -> list[Decision]:
        """Fencing did not work: nothing restarts; it is tried again after fence_retry. A
        host that answered while this fence ran returns now: its VMs kept running."""
        h = self._hosts[host]
        h.fence_failed, h.fence_running = True, False
        out = [Decision(time, Kind.FENCE_FAILED, host, reason=error)]
        if h.answered and h.phase is Phase.FENCING:
            h.answered = False
            out += self._returned(h, time, "the fence did not take effect: its VMs kept "
                                  "running")
            out += self._retry_waiting(time, h.name)
        return out + self._plan_fenced(time)  # (fenced hosts waiting for this one's fence)

    def restart_ended(self, vm: str, time: float | None = None,
                      started_on: str | None = None) -> None:
        """A restart decision of `vm` was carried out (done or not): its lost host may be
        taken back when it answers. Started (on `started_on`, at `time`): it runs there as
        of then, whatever a check of that host that began before the start said (one that
        did not list it yet must not leave it nowhere: its lost host's copy would then be
        taken for it when that host returns)."""
        for h in self._hosts.values():
            h.restarting.discard(vm)
        if started_on is not None and time is not None and vm in self._vms:
            self._put(vm, started_on, PowerState.RUNNING, time)

    def restart_failed(self, vm: str, time: float, error: str, wait: bool = True,
                       target: str | None = None, blame: bool = True) -> list[Decision]:
        """It did not start where its restart put it (a guard said no, or the start failed):
        unless it runs somewhere (wait False), it is tried at once on another host with room;
        else it waits and starts as soon as a host has room for it (or its own host is back).
        The host it failed on is tried again only after fence_retry (unless not to blame: the
        service lost its lease meanwhile)."""
        rec = self._vms[vm]
        target = target or rec.vm.host  # (where the restart decision put it)
        self._put(vm, rec.vm.host, PowerState.SHUTOFF, time)
        lost = rec.home or ""
        if blame and target is not None:
            self._failed_on.setdefault(vm, {})[target] = time
        out = [Decision(time, Kind.RESTART_FAILED, lost, vm=vm, reason=error)]
        if wait and lost in self._hosts and self._hosts[lost].phase in DOWN_PHASES:
            self._waiting[vm] = lost
            out += self._retry_waiting(time, None)
        return out

    def waiting(self) -> dict[str, str]:
        """VMs of lost hosts left down for want of room (or a failed start), by lost host."""
        return dict(self._waiting)

    def _retry_waiting(self, t: float, host: str | None) -> list[Decision]:
        """Waiting VMs restart on `host`, which just answered (None: on any host), if it has
        room for them now, most important first (so a VM waits only until some host has
        room); never on a host where its start failed within fence_retry."""
        for name in [v for v in self._waiting if self._vms[v].vm.power in LIVE]:
            del self._waiting[name]  # seen running: started by someone
        ready = [v for v, lost in self._waiting.items()
                 if lost == host or lost not in self._hosts or self.lost_now(lost)
                 or self._back(lost)]
        if not ready:
            return []
        vms = restart_order([self._vms[v].vm for v in ready], self.settings)
        all_rooms = rooms(self.view(t), self.settings.limits)
        out = []
        for vm in vms:
            failed = self._failed_on.get(vm.name, {})
            room = {k: r for k, r in all_rooms.items() if (host is None or k == host)
                    and t - failed.get(k, float("-inf")) >= self.settings.fence_retry}
            target = assign([vm.model_copy(update={"host": None})], room).placed.get(vm.name)
            if target is None:
                continue
            all_rooms[target] = all_rooms[target].taking(vm)
            lost = self._waiting.pop(vm.name)
            self._put(vm.name, target, PowerState.RUNNING, t)
            if lost in self._hosts and self._hosts[lost].phase in DOWN_PHASES:
                self._hosts[lost].restarting.add(vm.name)
            out.append(Decision(t, Kind.RESTART, lost, vm=vm.name, target=target,
                                reason="room now" if host is not None else "tried again"))
        return out

    # -- internals

    def _back(self, host: str) -> bool:
        """It answers this engine again, not fenced: its VMs may start anywhere."""
        h = self._hosts[host]
        return h.phase is Phase.OK and not h.fenced and h.last_ok > float("-inf")

    def _reset(self, h: _Host) -> None:
        h.phase, h.since, h.held = Phase.OK, 0.0, False
        h.fence_running = h.answered = False

    def _fence(self, h: _Host, t: float) -> list[Decision]:
        # fenced from now on as far as its return goes: a host that answers again while it is
        # being fenced is unfenced
        h.phase, h.fence_tried, h.fenced = Phase.FENCING, t, True
        expiry = self.settings.blocklist_expiry
        out = [Decision(t, Kind.FENCE, h.name,
                        detail=f"blocklist its Ceph clients for {expiry:g} s")]
        if self.settings.ipmi:
            out.append(Decision(t, Kind.POWER_OFF, h.name, detail="IPMI power-off"))
        return out

    def _put(self, vm: str, host: str | None, power: PowerState, t: float) -> None:
        rec = self._vms[vm]
        rec.vm = rec.vm.model_copy(update={"host": host, "power": power})
        rec.updated = t

    def _live_on(self, host: str) -> list[str]:
        return [v.name for v in self.live_vms(host)]

    def live_vms(self, host: str) -> list[Vm]:
        """The VMs last known live on the host."""
        return [r.vm for r in self._vms.values() if r.vm.host == host and r.vm.power in LIVE]


def drill(snap: ClusterSnapshot, host: str, settings: HaSettings | None = None) -> DrillReport:
    """The failover drill: "what if `host` is lost now?", decided as HA decides it (an engine
    that knows the cluster as the snapshot shows it). Hosts not usable now (unreachable, in
    maintenance) are not targets, as they would not be in a real failover."""
    return FailoverEngine.from_snapshot(settings or HaSettings(), snap).drill(host, snap.time)
