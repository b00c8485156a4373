"""The simulator's CephAdmin: the `ceph` command line, systemd units of Ceph daemons and each
host's mon_host, answered from the simulated Ceph cluster (CephModel) the way Ceph 16 does:
the same JSON (ceph_json), the same messages on stderr, the same exit statuses.

`ceph` runs on the first host that answers (the one that answered last first, as RealBackend
does), whose ceph.conf lists a monitor in quorum; when none does, BackendError ("ceph: no host
answered"), after the connection timeouts on the clock.
"""

from __future__ import annotations

import errno
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import BackendError, HostUnreachable, InvalidState, NotFound
from mvm_tui.backends.capabilities import CliResult, UnitAction
from mvm_tui.backends.sim.ceph import CephModel
from mvm_tui.backends.sim.ceph_json import CephReads
from mvm_tui.backends.sim.ceph_verdicts import ok_to_stop_report, safe_to_destroy_report
from mvm_tui.backends.sim.spec import SimClusterSpec
from mvm_tui.backends.sim.state import HostState
from mvm_tui.clock import Clock

CEPH_UNIT = re.compile(r"ceph-(osd|mon|mgr)@([A-Za-z0-9_.-]+)")  # as RealBackend accepts
_OSD_ID = re.compile(r"(?:osd\.)?([0-9]+)")


def mon_host_value(addresses: Sequence[str]) -> str:
    """ceph.conf's mon_host for monitors at these addresses."""
    return ",".join(f"[v2:{a}:3300,v1:{a}:6789]" for a in addresses)


def mon_host_addresses(value: str) -> set[str]:
    """The addresses a mon_host value lists ("[v2:A:3300,v1:A:6789],B:6789,C")."""
    out = set()
    for part in re.split(r"[\[\],\s]+", value):
        if part.startswith(("v1:", "v2:")):
            part = part[3:]
        if part.count(":") == 1:
            part = part.rsplit(":", 1)[0]
        if part:
            out.add(part.split("/")[0])
    return out


def _ok(stdout: str = "", stderr: str = "") -> CliResult:
    return CliResult(0, stdout, stderr)


def _error(code: int, message: str) -> CliResult:
    """How the ceph CLI fails: exit status errno, "Error ENAME: message" on stderr."""
    return CliResult(code, "", f"Error {errno.errorcode[code]}: {message}\n")


def _json(data: Any) -> CliResult:
    return _ok(json.dumps(data, separators=(",", ":")) + "\n")


def _invalid() -> CliResult:
    return _error(errno.EINVAL, "(22) Invalid argument")


def _split_argv(argv: Sequence[str]) -> tuple[list[str], float]:
    """The command's words without the global options, and its --connect-timeout."""
    if not argv or argv[0] != "ceph":
        raise ValueError(f"not a ceph command line: {list(argv)!r}")
    words: list[str] = []
    timeout = 10.0  # ours: the default of commands.py
    rest = list(argv[1:])
    while rest:
        a = rest.pop(0)
        if a == "--connect-timeout" and rest:
            timeout = float(rest.pop(0))
        elif a in ("-f", "--format") and rest:
            rest.pop(0)  # reads print JSON whatever the format
        elif not a.startswith("--format="):
            words.append(a)
    return words, timeout


def _osd_ids(words: Sequence[str]) -> list[int] | None:
    ids = []
    for w in words:
        m = _OSD_ID.fullmatch(w)
        if m is None:
            return None
        ids.append(int(m[1]))
    return ids or None


class SimCeph(CephReads):
    """Ceph's admin side of a SimBackend (see the module's docstring)."""

    def __init__(
        self,
        spec: SimClusterSpec,
        hosts: Mapping[str, HostState],
        model: CephModel,
        clock: Clock,
        reach: Callable[[HostState], Awaitable[None]],
        fsid_seed: str,
    ) -> None:
        self.spec, self.hosts, self.model, self.clock = spec, hosts, model, clock
        self._reach = reach
        now = clock.now()
        self.fsid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"mvm-tui-sim/{fsid_seed}"))
        self.started = self.mon_created = self.mon_modified = now
        self.monmap_epoch = 1
        self.election_epoch = 2 * len(model.mons) + 2
        self._quorum_seen, self._quorum_since = (), now
        self.quorum()
        with_osds = list(dict.fromkeys(o.host for o in model.osds))
        self.buckets = {h: -(3 + 2 * i) for i, h in enumerate(with_osds)}
        self.keys = {f"osd.{o.id}" for o in model.osds}  # the auth database's OSD entities
        self._mon_units = set(model.mons)  # ceph-mon@NAME is installed on host NAME
        self.disabled: set[tuple[str, str]] = set()  # (host, unit)
        initial = mon_host_value([hosts[m].spec.address for m in model.mons])
        self._conf = dict.fromkeys(hosts, initial)  # each host's ceph.conf mon_host
        self._answered: str | None = None

    # -- CephAdmin

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        words, timeout = _split_argv(argv)
        problems = []
        for name in sorted(self.hosts, key=lambda n: n != self._answered):
            h = self.hosts[name]
            try:
                await self._reach(h)
            except HostUnreachable as exc:
                problems.append(str(exc))
                continue
            if not self._connects(name):
                await self.clock.sleep(timeout)
                problems.append(f"{h.label}: [errno 110] RADOS timed out (error connecting to "
                                "the cluster)")
                continue
            self._answered = name
            return self.run(words)
        raise BackendError("ceph: no host answered: " + "; ".join(problems))

    async def systemctl(self, host: str, action: UnitAction, unit: str) -> CliResult:
        m = CEPH_UNIT.fullmatch(unit)
        if m is None:
            raise InvalidState(f"not a Ceph daemon unit: {unit!r}")
        h = self._host(host)
        await self._reach(h)
        if action not in ("stop", "disable", "is-active"):
            return CliResult(1, "", f"Unknown command verb {action}.\n")
        kind, name = m[1], m[2]
        osd = int(name) if kind == "osd" and name.isdigit() else -1
        if kind == "osd" and 0 <= osd < len(self.model.osds):
            known = self.model.osds[osd].host == host
        else:
            known = kind == "mon" and name == host and name in self._mon_units
        if not known:
            return CliResult(5, "", f"Failed to {action} {unit}.service: Unit {unit}.service "
                             "not loaded.\n")
        if kind == "osd":
            running = not self.model.stopped[osd]
        else:
            running = name not in self.model.mon_stopped
        if action == "is-active":
            return CliResult(0, "active\n", "") if running else CliResult(3, "inactive\n", "")
        if action == "disable":
            if (host, unit) in self.disabled:
                return _ok()
            self.disabled.add((host, unit))
            return _ok(stderr=f"Removed /etc/systemd/system/ceph-{kind}.target.wants/"
                       f"{unit}.service.\n")
        if running:
            now = self.clock.now()
            if kind == "mon":
                self.model.mon_stopped[name] = now
            elif self.model.has_osd(osd):
                self.model.stop_daemon(osd, now)
            else:
                self.model.stopped[osd] = True
        return _ok()

    async def crush_name(self, host: str) -> str:
        """The host's CRUSH bucket name: the simulated hosts are named by their hostname."""
        await self._reach(self._host(host))
        return host

    async def mon_host(self, host: str) -> str:
        await self._reach(self._host(host))
        return self._conf[host]

    async def set_mon_host(self, host: str, value: str) -> None:
        await self._reach(self._host(host))
        self._conf[host] = value

    # -- the `ceph` command line

    def run(self, words: list[str]) -> CliResult:
        """`ceph WORDS...` (global options taken off), on a host that reaches the quorum."""
        report = self.reports().get(tuple(words))
        if report is not None:
            return _json(report())
        match words:
            case ["mon", "dump"]:
                return CliResult(0, json.dumps(self.monmap_json(with_quorum=True),
                                               separators=(",", ":")) + "\n",
                                 f"dumped monmap epoch {self.monmap_epoch}\n")
            case ["pg", "ls-by-osd", osd] if osd.isdigit():
                return _json(self.pg_ls_json(int(osd)))
            case ["osd", "ok-to-stop", *ids]:
                return self._ok_to_stop(_osd_ids(ids))
            case ["osd", "safe-to-destroy", *ids]:
                return self._safe_to_destroy(_osd_ids(ids))
            case ["osd", "out", *ids]:
                return self._out(_osd_ids(ids))
            case ["osd", "crush", "remove" | "rm", name]:
                return self._crush_remove(name)
            case ["auth", "del" | "rm", entity]:
                return self._auth_del(entity)
            case ["osd", "rm", *ids]:
                return self._rm(_osd_ids(ids))
            case ["osd", "purge", osd, *flags] if set(flags) <= {"--yes-i-really-mean-it",
                                                                 "--force"}:
                return self._purge(_osd_ids([osd]), bool(flags))
            case ["mon", "remove" | "rm", name]:
                return self._mon_remove(name)
        return _invalid()

    def _ok_to_stop(self, ids: list[int] | None) -> CliResult:
        if ids is None:
            return _invalid()
        missing = [o for o in ids if not self.model.has_osd(o)]
        if missing:
            return _error(errno.ENOENT, f"osd.{missing[0]} does not exist")
        report = ok_to_stop_report(self.model, self.spec.pool_min_size, ids, self.clock.now())
        out = json.dumps(report, separators=(",", ":")) + "\n"
        if report["ok_to_stop"]:
            return _ok(out)
        n = report["num_not_ok_pgs"]
        return CliResult(errno.EBUSY, out, "Error EBUSY: unsafe to stop osd(s) at this time "
                         f"({n} PGs are or would become offline)\n")

    def _safe_to_destroy(self, ids: list[int] | None) -> CliResult:
        """With -f json (commands.py always adds it), exit 0 and the verdict, as Ceph does."""
        if ids is None:
            return _invalid()
        verdict, _ = safe_to_destroy_report(self.model, ids, self.clock.now())
        return _json(verdict)

    def _out(self, ids: list[int] | None) -> CliResult:
        if ids is None:
            return _invalid()
        said = []
        for o in ids:
            if not self.model.has_osd(o):
                said.append(f"osd.{o} does not exist. ")
            elif not self.model.in_[o]:
                said.append(f"osd.{o} is already out. ")
            else:
                self.model.mark_out(o, self.clock.now())
                said.append(f"marked out osd.{o}. ")
        return _ok(stderr="".join(said) + "\n")

    def _crush_remove(self, name: str) -> CliResult:
        m = self.model
        osd = _OSD_ID.fullmatch(name) if name.startswith("osd.") else None
        if osd is not None:
            o = int(osd[1])
            if 0 <= o < len(m.osds) and m.in_crush[o]:
                m.crush_remove(o, self.clock.now())
                return _ok(stderr=f"removed item id {o} name '{name}' from crush map\n")
        elif name in self.buckets:
            if [o.id for o in m.osds if o.host == name and m.in_crush[o.id]]:
                return _error(errno.ENOTEMPTY, "(39) Directory not empty")
            bid = self.buckets.pop(name)
            return _ok(stderr=f"removed item id {bid} name '{name}' from crush map\n")
        elif name == "default":
            return _error(errno.ENOTEMPTY, "(39) Directory not empty")
        return _ok(stderr=f"device '{name}' does not appear in the crush map\n")

    def _auth_del(self, entity: str) -> CliResult:
        if entity not in self.keys:
            return _ok(stderr=f"entity {entity} does not exist\n")
        self.keys.discard(entity)
        return _ok(stderr="updated\n")

    def _rm(self, ids: list[int] | None) -> CliResult:
        if ids is None:
            return _invalid()
        said, busy = [], False
        for o in ids:
            if not self.model.has_osd(o):
                said.append(f"osd.{o} does not exist. ")
            elif self.model.up[o]:
                said.append(f"osd.{o} is still up; must be down before removal. ")
                busy = True
            else:
                self.model.remove(o, self.clock.now())
                said.append(f"removed osd.{o}")
        if busy:
            return _error(errno.EBUSY, "".join(said))
        return _ok(stderr="".join(said) + "\n")

    def _purge(self, ids: list[int] | None, sure: bool) -> CliResult:
        """`osd purge ID --yes-i-really-mean-it`: crush remove + auth del + osd rm; without
        the flag only when safe-to-destroy says so."""
        if ids is None:
            return _invalid()
        o = ids[0]
        if not self.model.has_osd(o):
            return _ok(stderr=f"osd.{o} does not exist\n")
        verdict, pgs = safe_to_destroy_report(self.model, [o], self.clock.now())
        if not sure and o not in verdict["safe_to_destroy"]:
            return _error(errno.EBUSY, f"OSD(s) {o} have {pgs} pgs currently mapped to them. "
                          "\nYou can proceed by passing --force, but be warned that this will "
                          "likely mean real, permanent data loss.")
        if self.model.up[o]:
            return _error(errno.EBUSY, f"osd.{o} is not `down`.")
        now = self.clock.now()
        if self.model.in_crush[o]:
            self.model.crush_remove(o, now)
        self.keys.discard(f"osd.{o}")
        self.model.remove(o, now)
        return _ok(stderr=f"purged osd.{o}\n")

    def _mon_remove(self, name: str) -> CliResult:
        mons, now = self.model.mons, self.clock.now()
        if name not in mons:
            return _ok(stderr=f"mon.{name} does not exist or has already been removed\n")
        if len(mons) == 1:
            return _error(errno.EINVAL, f"error: refusing removal of last monitor {name}")
        left = [m for m in self.quorum() if m != name]
        if 2 * len(left) <= len(mons) - 1:
            return _error(errno.EBUSY, f"removing mon.{name} would leave {len(left)} of "
                          f"{len(mons) - 1} monitors in quorum: the cluster would lose its quorum")
        a = self.hosts[name].spec.address
        said = (f"removing mon.{name} at [v2:{a}:3300/0,v1:{a}:6789/0], there will be "
                f"{len(mons) - 1} monitors\n")
        if self.model.electing(now):
            return _ok(stderr=said)  # sent during an election: accepted, then lost (lab gotcha)
        mons.remove(name)
        self.monmap_epoch += 1
        self.mon_modified = now
        self.quorum()
        return _ok(stderr=said)

    # -- helpers

    def _host(self, name: str) -> HostState:
        try:
            return self.hosts[name]
        except KeyError:
            raise NotFound(f"host {name} does not exist") from None

    def _connects(self, host: str) -> bool:
        """Whether a ceph client on the host reaches the quorum through its mon_host."""
        q = self.quorum()
        if not self.has_quorum(q):
            return False
        listed = mon_host_addresses(self._conf[host])
        return any(self.hosts[m].spec.address in listed for m in q)


class SimCephAdmin:
    """CephAdmin for SimBackend, delegating to its SimCeph (None: the cluster has no Ceph)."""

    name: str
    _ceph_admin: SimCeph | None

    def _admin(self) -> SimCeph:
        if self._ceph_admin is None:
            raise InvalidState(f"cluster {self.name} has no Ceph")
        return self._ceph_admin

    def _mon_quorum(self) -> tuple[str, ...]:
        return self._admin().quorum()

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        return await self._admin().ceph(argv)

    async def systemctl(self, host: str, action: UnitAction, unit: str) -> CliResult:
        return await self._admin().systemctl(host, action, unit)

    async def crush_name(self, host: str) -> str:
        return await self._admin().crush_name(host)

    async def mon_host(self, host: str) -> str:
        return await self._admin().mon_host(host)

    async def set_mon_host(self, host: str, value: str) -> None:
        await self._admin().set_mon_host(host, value)
