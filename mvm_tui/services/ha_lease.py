"""The HA lock of an HCI cluster: a Ceph RADOS advisory lock with a lease, so two jump boxes
may both run the HA service for redundancy; one acts, the other stands by and takes over when
the lease of the first runs out (it died, or lost its way to the cluster).

    rados -p POOL lock get mvm-tui-ha.CLUSTER ha --lock-cookie C --lock-duration D ...

Every `rados` command is a new Ceph client, so a lock cannot be renewed as such: renewing is
breaking our own lock (`lock break` names our locker: client.N and cookie C; it fails with
ENOENT if anyone else holds it) and taking it again at once. A holder counts itself active
only while the lease it took is surely running: from before it asked, for the duration less a
margin, and never across a renewal that failed. Ceph starts the lease when it grants it, later
than we started counting, so no two services are ever active at once.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from mvm_tui.backends.capabilities import CliResult
from mvm_tui.backends.ceph.commands import check_name
from mvm_tui.backends.workload_commands import ha_object

LOCK_NAME = "ha"
CLI_TIMEOUT = 10


Cli = Callable[[Sequence[str]], Awaitable[CliResult]]  # run a command on a host with Ceph


class HaLease(Protocol):
    """A lock that may be lost; HaService acquires and renews it in a loop."""

    renew_every: float

    def describe(self) -> str: ...
    async def renew(self) -> bool: ...  # take it, or keep it
    def taken(self) -> bool: ...  # another service holds it (not just: we could not renew)
    async def release(self) -> None: ...
    def valid(self) -> bool: ...
    def holder(self) -> str | None: ...  # who holds it when we do not


class RadosLease:
    def __init__(self, cli: Cli, cluster: str, pool: str, duration: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cli, self.duration, self.monotonic = cli, duration, monotonic
        self.pool = check_name(pool, "pool")
        self.obj = ha_object(check_name(cluster, "cluster"))
        self.renew_every = duration / 3
        self.cookie = uuid.uuid4().hex
        self.description = f"mvm-tui HA, pid {os.getpid()} on {socket.gethostname()}"
        self._until = 0.0  # our lease is surely running until then
        self._locker: str | None = None  # client.N that holds it for us
        self._holder: str | None = None
        self._taken = False  # another service's lock was seen

    def _rados(self, *args: str) -> list[str]:
        return ["timeout", str(CLI_TIMEOUT), "rados", "-p", self.pool, "lock", *args]

    def commands(self) -> list[list[str]]:
        """What acquiring runs (for the docs and the tests)."""
        return [self._rados("get", self.obj, LOCK_NAME, "--lock-cookie", self.cookie,
                            "--lock-duration", str(max(1, round(self.duration))),
                            "--lock-description", self.description)]

    def describe(self) -> str:
        return f"{self.pool}/{self.obj} (lease {self.duration:g} s)"

    def valid(self) -> bool:
        return self.monotonic() < self._until

    def holder(self) -> str | None:
        return None if self.valid() else self._holder

    def taken(self) -> bool:
        return self._taken

    async def acquire(self) -> bool:
        asked = self.monotonic()
        got = await self.cli(self.commands()[0])
        info = await self._info()
        mine = next((lk for lk in info if lk.get("cookie") == self.cookie), None)
        others = [lk for lk in info if lk.get("cookie") != self.cookie]
        self._taken = bool(others)
        if got.exit_status != 0 or mine is None:
            self._until = 0.0
            self._holder = ", ".join(str(lk.get("description") or lk.get("name"))
                                     for lk in others) or "nobody (Ceph did not answer)"
            return False
        self._locker, self._holder = str(mine["name"]), None
        self._until = asked + self.duration - self.renew_every / 2
        return True

    async def renew(self) -> bool:
        """Take the lock, or keep it: break our own (the last locker we know of) and take it
        again at once."""
        self._until = 0.0  # not active across the break: someone else may get it meanwhile
        if self._locker is not None:
            await self._break(self._locker)
        return await self.acquire()

    async def release(self) -> None:
        if self._locker is not None:
            self._until = 0.0
            await self._break(self._locker)
            self._locker = None

    async def _break(self, locker: str) -> None:
        await self.cli(self._rados("break", self.obj, LOCK_NAME, locker,
                                   "--lock-cookie", self.cookie))

    async def _info(self) -> list[dict[str, object]]:
        """The lockers (name client.N, cookie, description, expiration); [] when none."""
        out = await self.cli(self._rados("info", self.obj, LOCK_NAME))
        if out.exit_status != 0:
            return []
        try:
            lockers = json.loads(out.stdout).get("lockers", [])
        except (ValueError, AttributeError):
            return []
        return [lk for lk in lockers if isinstance(lk, dict)]
