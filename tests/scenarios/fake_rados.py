"""A model of one RADOS object the way the OSD keeps it for mvm-tui: cls_lock's exclusive lock
(every `rados` command a new client; break needs the locker's name and cookie; a lease
expires) and the object's extended attributes (HA's restart state, next to the lock)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from mvm_tui.backends.capabilities import CliResult
from mvm_tui.clock import VirtualClock


@dataclass
class Locker:
    name: str
    cookie: str
    description: str
    expires: float


@dataclass
class FakeRados:
    """One lock object, the way the OSD's cls_lock keeps it."""

    clock: VirtualClock
    lockers: list[Locker] = field(default_factory=list)
    clients: int = 4100
    commands: list[list[str]] = field(default_factory=list)
    down: bool = False  # no host answers
    xattrs: dict[str, str] = field(default_factory=dict)
    full: bool = False  # the cluster is full: writes fail

    async def __call__(self, argv: Sequence[str]) -> CliResult:
        argv = list(argv)
        self.commands.append(argv)
        if self.down:
            raise OSError("no host answered")
        assert argv[:4] == ["timeout", "10", "rados", "-p"]
        if argv[5] != "lock":
            return self._xattr(argv[5], argv[6:])
        verb, args = argv[6], argv[7:]
        self.clients += 1
        now = self.clock.now()
        self.lockers = [lk for lk in self.lockers if lk.expires > now]
        opts = dict(zip(args[2::2], args[3::2], strict=False))
        if verb == "get":
            if self.lockers:
                return CliResult(1, "", "ERROR: failed locking: (16) Device or resource busy")
            self.lockers.append(Locker(f"client.{self.clients}", opts["--lock-cookie"],
                                       opts["--lock-description"],
                                       now + float(opts["--lock-duration"])))
            return CliResult(0, "", "")
        if verb == "break":
            name, cookie = args[2], args[4]
            mine = [lk for lk in self.lockers if (lk.name, lk.cookie) == (name, cookie)]
            if not mine:
                return CliResult(1, "", "ERROR: failed breaking lock: (2) No such file")
            self.lockers.remove(mine[0])
            return CliResult(0, "", "")
        assert verb == "info"
        return CliResult(0, json.dumps({"name": "ha", "type": "exclusive", "lockers": [
            {"name": lk.name, "cookie": lk.cookie, "description": lk.description}
            for lk in self.lockers]}), "")

    def _xattr(self, verb: str, args: list[str]) -> CliResult:
        if verb == "listxattr":
            if not self.xattrs and not self.lockers:
                return CliResult(2, "", "error getting xattr set: (2) No such file or directory")
            return CliResult(0, "".join(f"{n}\n" for n in sorted(self.xattrs)), "")
        if verb == "getxattr":
            if args[1] not in self.xattrs:
                return CliResult(1, "", "error getting xattr: (61) No data available")
            return CliResult(0, self.xattrs[args[1]] + "\n", "")
        if self.full:
            return CliResult(1, "", "error setting xattr: (28) No space left on device")
        if verb == "setxattr":
            self.xattrs[args[1]] = args[2]
            return CliResult(0, "", "")
        assert verb == "rmxattr"
        self.xattrs.pop(args[1], None)
        return CliResult(0, "", "")
