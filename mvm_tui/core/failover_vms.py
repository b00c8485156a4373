"""What the failover engine knows of each host and VM, and how a check's poll updates it
(core.failover's FailoverEngine is a VmTracking): where a VM was last seen, which VMs a
returning host still has that run elsewhere (stale copies). Pure: no I/O, no asyncio."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mvm_tui.core.failover_plan import Observation
from mvm_tui.core.placement import LIVE
from mvm_tui.models import HostFacts, Vm


class Phase(StrEnum):
    OK = "ok"
    SUSPECT = "suspect"
    LOST = "lost"  # lost, not fenced (in maintenance with nothing to recover)
    FENCING = "fencing"
    FENCED = "fenced"
    RECOVERED = "recovered"


DOWN_PHASES = frozenset({Phase.LOST, Phase.FENCING, Phase.FENCED, Phase.RECOVERED})


@dataclass
class _Host:
    name: str
    phase: Phase = Phase.OK
    since: float = 0.0  # the first failed check of the current streak
    facts: HostFacts | None = None
    maintenance: bool = False
    held: bool = False  # the "OSDs still up" hold was logged
    fence_tried: float = 0.0
    fence_failed: bool = False  # its last fence attempt failed
    fenced: bool = False  # a fence was sent: unfence when it returns
    fence_running: bool = False  # a fence run is executing: its outcome decides
    answered: bool = False  # it answered while its fence run was executing
    restarting: set[str] = field(default_factory=set)  # its VMs whose restart is decided,
    # not yet carried out: it is not taken back before (their guards need it lost)
    last_ok: float = float("-inf")  # when its last check that answered was sent
    left_down: list[str] = field(default_factory=list)  # its VMs that stayed down
    stale: set[str] = field(default_factory=set)  # VMs it has that were restarted elsewhere
    held_down: set[str] = field(default_factory=set)  # its self-fenced VMs said to stay down
    # the VMs of its self-fence marker already decided on: the marker is read at every check
    # until HA has cleared it (that decision may wait behind others)
    marker_read: set[str] = field(default_factory=set)


@dataclass
class _Vm:
    vm: Vm  # as last known; host None when it left its host to somewhere not seen yet
    updated: float  # the start of the check that saw it, or the time of the decision
    home: str | None = None  # HA moved it off this host: where it fails back to
    seen: Vm | None = None  # as a check last saw it (never a decision's guess)


class VmTracking:
    """Mixed into FailoverEngine, which holds the hosts and VMs declared here."""

    _hosts: dict[str, _Host]
    _vms: dict[str, _Vm]

    def _runs_elsewhere(self, h: _Host, rec: _Vm) -> bool:
        """The VM is known to run on another host, one that answers."""
        other = rec.vm.host
        return (other not in (None, h.name) and rec.vm.power in LIVE
                and self._hosts[other].phase is Phase.OK)

    def _seen_elsewhere(self, h: _Host, vm: str) -> bool:
        """A check saw the VM live on another host (its restart there was carried out)."""
        rec = self._vms.get(vm)
        seen = None if rec is None else rec.seen
        return seen is not None and seen.host not in (None, h.name) and seen.power in LIVE

    def _how_elsewhere(self, h: _Host, rec: _Vm) -> str:
        """In true words: HA restarted it there, or it was started there by someone else."""
        where = rec.vm.host or "another host"
        if rec.home == h.name:
            return f"restarted on {where} while {h.name} was lost"
        return f"started by hand on {where} while {h.name} was lost"

    def _live_elsewhere(self, h: _Host, rec: _Vm) -> bool:
        """Last known live on another host: running there (it answers), or on a host that
        is silent or lost (it is restarted from there, or it still runs there)."""
        return rec.vm.host not in (None, h.name) and rec.vm.power in LIVE

    def _stale_copy(self, h: _Host, rec: _Vm) -> bool:
        """A VM a returning host shows is a stale copy when it was restarted elsewhere while
        the host was lost (its home is here), or simply runs on another host now (as seen by
        an HA service that started after the loss); it stays stale until gone from here."""
        if rec.vm.name in h.stale:
            return rec.vm.host != h.name
        if rec.updated == float("-inf"):  # known only from the kept state: not confirmed
            return False
        moved = (rec.home == h.name and rec.vm.host not in (None, h.name)
                 and rec.vm.power in LIVE)
        return (h.phase in DOWN_PHASES or h.fenced) and (moved or self._runs_elsewhere(h, rec))

    def _absorb(self, h: _Host, obs: Observation, started: float) -> None:
        poll = obs.poll
        assert poll is not None
        h.facts, h.maintenance = poll.facts, poll.maintenance
        seen = set()
        h.stale &= {vm.name for vm in poll.vms}  # removed there since: no longer stale
        for vm in poll.vms:
            rec = self._vms.get(vm.name)
            if rec is not None and self._stale_copy(h, rec):
                h.stale.add(vm.name)
                continue
            seen.add(vm.name)
            if rec is None:
                self._vms[vm.name] = _Vm(vm, started, seen=vm)
            elif started > rec.updated and (vm.power in LIVE
                                            or not self._live_elsewhere(h, rec)):
                # (a definition left shut off here never hides the copy that ran elsewhere)
                rec.vm, rec.updated, rec.seen = vm, started, vm
        for rec in self._vms.values():  # gone from this host since
            if rec.vm.host == h.name and rec.vm.name not in seen and started > rec.updated:
                rec.vm, rec.updated = rec.vm.model_copy(update={"host": None}), started
                if rec.seen is not None and rec.seen.host == h.name:  # (not a decision's)
                    rec.seen = rec.vm
