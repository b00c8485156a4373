"""What failover needs from a host's libvirtd: a light liveness check that also keeps a copy
of every VM's definition, and defining, starting and removing one VM on one host.

The light check reads the domains' states only (getAllDomainStats of the state group: no
statistic that waits on a qemu monitor stalled by its storage) and their XML only when needed
(CheckCache), so it costs a few round trips whatever the number of VMs. The copy of a VM's
persistent definition (XMLDesc(VIR_DOMAIN_XML_INACTIVE), which holds no secrets: those need
VIR_DOMAIN_XML_SECURE) is taken again only when its live XML changed, and is what a VM of a
lost host is defined with elsewhere.

Blocking functions: they run on a host's worker thread (LibvirtHost.run).
"""

from __future__ import annotations

import hashlib
import shlex
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libvirt  # type: ignore[import-untyped]

from mvm_tui.backends.libvirt.domxml import parse_domain
from mvm_tui.backends.libvirt.inventory import power_state, read_facts
from mvm_tui.backends.libvirt.power import apply_power, stop_reason
from mvm_tui.backends.libvirt.resident import Resident
from mvm_tui.backends.libvirt.uri import quote_uri
from mvm_tui.models import HostMetrics, HostPoll, PowerAction, PowerState, Vm

ACTIVE = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTTING_DOWN)
# a stale copy is undefined without touching anything else it has (storage is never removed)
UNDEFINE_FLAGS = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                  | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                  | libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)


@dataclass(frozen=True)
class KeptDefinition:
    vm: str
    host: str  # where it was taken
    taken: float  # when (the clock's time)
    xml: str


class KeptDefinitions:
    """The last known persistent definition of every VM, by name (thread-safe: every host's
    worker thread refreshes it)."""

    def __init__(self) -> None:
        self._defs: dict[str, KeptDefinition] = {}
        self._seen: dict[str, tuple[str, str]] = {}  # VM -> (host, digest of its live XML)
        self._fresh: list[tuple[int, KeptDefinition]] = []  # taken, not yet acknowledged
        self._taken = 0  # how many were taken (numbers the fresh ones)
        self._lock = threading.Lock()

    def get(self, vm: str) -> KeptDefinition | None:
        with self._lock:
            return self._defs.get(vm)

    def restore(self, vm: str, host: str, taken: float, xml: str) -> None:
        """A definition kept by an earlier HA service (from its kept state); one taken by
        this process since wins."""
        with self._lock:
            if vm not in self._defs:
                self._defs[vm] = KeptDefinition(vm, host, taken, xml)

    def refresh(self, vm: str, host: str, live_xml: str, read: Callable[[], str],
                now: float) -> None:
        digest = hashlib.sha256(live_xml.encode()).hexdigest()
        with self._lock:
            if self._seen.get(vm) == (host, digest):
                return
        xml = read()
        with self._lock:
            self._defs[vm] = kept = KeptDefinition(vm, host, now, xml)
            self._seen[vm] = (host, digest)
            self._taken += 1
            self._fresh.append((self._taken, kept))

    def put(self, kept: KeptDefinition) -> None:
        """One taken by a check where libvirt runs (drained there)."""
        with self._lock:
            self._defs[kept.vm] = kept

    def fresh(self, received: int) -> list[tuple[int, KeptDefinition]]:
        """Those taken after number `received` (the last one the caller got): a caller that
        gave up on a check gets them with the next."""
        with self._lock:
            self._fresh = [(n, k) for n, k in self._fresh if n > received]
            return list(self._fresh)


def _inactive_xml(dom: Any) -> Callable[[], str]:
    return lambda: str(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))


@dataclass
class CheckCache:
    """What the light checks of one host keep between checks, so a check costs a few round
    trips whatever the number of VMs (each libvirt call over qemu+ssh is one; at 100 ms of
    latency, a call per VM made checks time out): the host's facts, and every VM's parsed
    definition by UUID, read again when the VM is new, when its state changed, and for
    REREAD_PER_CHECK VMs a check in turn (and at once after forget(), as when this process
    changes a VM's placement)."""

    facts: Any = None  # inventory.NodeFacts, read once per FACTS_EVERY checks
    checks: int = 0
    specs: dict[str, tuple[Any, int]] = field(default_factory=dict)  # UUID -> (spec, state)
    turn: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def forget(self, vm: str) -> None:
        with self.lock:
            self.specs = {u: e for u, e in self.specs.items() if e[0].name != vm}


FACTS_EVERY = 30
REREAD_PER_CHECK = 2


def light_check(conn: Any, host: str, kept: KeptDefinitions, now: float,
                cache: CheckCache | None = None) -> HostPoll:
    """The host's facts and VMs (sizes, power, placement; no load figures). With a cache:
    one call for every VM's state (getAllDomainStats of the state group only: libvirt's own
    record, never the qemu monitor), and a definition read only when needed."""
    cache = cache or CheckCache()
    with cache.lock:
        if cache.facts is None or cache.checks % FACTS_EVERY == 0:
            cache.facts = read_facts(conn)
        cache.checks += 1
        listed = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
        uuids = [str(dom.UUIDString()) for dom, _ in listed]
        known = [u for u in uuids if u in cache.specs]
        again = set(known[cache.turn % len(known):][:REREAD_PER_CHECK]) if known else set()
        cache.turn += REREAD_PER_CHECK
        vms: list[Vm] = []
        for (dom, rec), uuid in zip(listed, uuids, strict=True):
            code = int(rec.get("state.state", libvirt.VIR_DOMAIN_NOSTATE))
            entry = cache.specs.get(uuid)
            if entry is None or entry[1] != code or uuid in again:
                try:
                    live = str(dom.XMLDesc(0))
                    spec = parse_domain(live)
                    kept.refresh(spec.name, host, live, _inactive_xml(dom), now)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                        continue  # undefined since it was listed
                    raise
                entry = cache.specs[uuid] = (spec, code)
            spec = entry[0]
            reason = stop_reason(code, int(rec.get("state.reason", 0)))
            vms.append(Vm(name=spec.name, uuid=spec.uuid, host=host, power=power_state(code),
                          stop_reason=reason, placement=spec.placement,
                          home_host=spec.home_host, priority=spec.priority,
                          vcpus=spec.vcpus, memory_mb=spec.memory_mb,
                          nics=spec.nics))
        cache.specs = {u: e for u, e in cache.specs.items() if u in set(uuids)}
        facts = cache.facts.facts
    used = sum(v.memory_mb for v in vms if v.power in ACTIVE)
    metrics = HostMetrics(time=now, cpu_pct=0.0, mem_used_mb=min(used, facts.memory_mb))
    return HostPoll(facts=facts, metrics=metrics, vms=tuple(vms))


@dataclass
class CheckState:
    """What one host's light checks keep, where libvirt runs (a Resident): the cache, and
    which definitions were taken (their copies go back to the caller)."""

    cache: CheckCache = field(default_factory=CheckCache)
    kept: KeptDefinitions = field(default_factory=KeptDefinitions)
    life: str = field(default_factory=lambda: uuid.uuid4().hex)  # (new if that process is)


@dataclass(frozen=True)
class Checked:
    poll: HostPoll
    life: str  # of the CheckState: numbers are per life
    taken: list[tuple[int, KeptDefinition]]  # definitions taken (new or changed), numbered


def checked(conn: Any, host: str, now: float, state: Resident[CheckState],
            received: tuple[str, int] = ("", 0), forget: tuple[str, ...] = ()) -> Checked:
    """light_check with its state kept where libvirt runs, and the definitions it took
    after `received` (life, number: the last the caller got), for the caller's
    KeptDefinitions. `forget`: VMs this process changed since (read again at once)."""
    kept = state.get()
    for vm in forget:
        kept.cache.forget(vm)
    poll = light_check(conn, host, kept.kept, now, kept.cache)
    life, number = received
    return Checked(poll, kept.life, kept.kept.fresh(number if life == kept.life else 0))


def state(conn: Any, vm: str) -> PowerState | None:
    """The VM's power state on this host; None when it is not defined here."""
    try:
        return power_state(int(conn.lookupByName(vm).state()[0]))
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def define(conn: Any, xml: str) -> None:
    conn.defineXML(xml)


def start(conn: Any, vm: str) -> None:
    apply_power(conn, vm, PowerAction.START)


def remove(conn: Any, vm: str) -> None:
    """Stop (destroy) and undefine this host's copy of the VM; nothing when it is not here,
    or no longer: a transient copy (the destination's of a migration that failed) is gone
    once destroyed, or goes while this runs."""
    try:
        dom = conn.lookupByName(vm)
        if dom.isActive():
            dom.destroy()
        if dom.isPersistent():
            dom.undefineFlags(UNDEFINE_FLAGS)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise


def define_commands(uri: str, kept: KeptDefinition | None, vm: str) -> list[str]:
    """What define() amounts to, as virsh: the kept copy of the definition on its stdin."""
    if kept is None:
        return [f"# no copy of the definition of {vm} was kept: it cannot be defined elsewhere"]
    return define_from(uri, f"the definition of {vm} as kept from {kept.host}")


def define_from(uri: str, source: str) -> list[str]:
    """`virsh define` of a definition given on its stdin; `source` says which one."""
    return [f"virsh -c {quote_uri(uri)} define /dev/stdin  # stdin: {source}"]


def remove_commands(uri: str, vm: str) -> list[str]:
    name = shlex.quote(vm)
    return [f"virsh -c {quote_uri(uri)} destroy {name}",
            f"virsh -c {quote_uri(uri)} undefine --managed-save --snapshots-metadata "
            f"--keep-nvram {name}"]
