"""How the Ceph run (provision_ceph.py) talks to the hosts: commands over SSH as root, ceph.sh
sent to `bash -s`, files read and written, ceph's JSON answers, and waits on the clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.ssh import SshPool
from mvm_tui.clock import Clock
from mvm_tui.runs import StepContext
from mvm_tui.services import ceph_bootstrap_commands as cmd
from mvm_tui.services.ceph_bootstrap_commands import MONMAP, VIRSH, CephHost
from mvm_tui.services.provision import STEP_TIMEOUT, script_argv, step_output


class CephShell:
    def __init__(self, pool: SshPool, clock: Clock, script: str, *, install: bool,
                 wait_limit: float) -> None:
        self.pool, self.clock, self.script = pool, clock, script
        self.install, self.wait_limit = install, wait_limit

    async def run(self, host: str, argv: list[str], stdin: str | None = None,
                  ctx: StepContext | None = None) -> tuple[int, str]:
        sink = None if ctx is None else step_output(ctx, host, f"{host}: ")
        r = await self.pool.run(host, argv, sudo=True, stdin=stdin, on_line=sink,
                                timeout=STEP_TIMEOUT, check=False)
        return r.exit_status, r.stdout

    async def ceph_sh(self, host: str, args: list[str], ctx: StepContext | None,
                      check: bool = False) -> bool:
        """ceph.sh with `args` on `host`; with `check`, whether it is done (else a failure
        raises)."""
        status, _ = await self.run(host, script_argv(args, self.install, check), self.script,
                                   None if check else ctx)
        if status != 0 and not check:
            raise BackendError(f"ceph.sh {' '.join(args)} failed on {host} ({status})")
        return status == 0

    async def answers(self, host: str) -> bool:
        """libvirtd on `host` answers."""
        return (await self.run(host, [*VIRSH, "version"]))[0] == 0

    async def read(self, host: str, path: str) -> str | None:
        status, out = await self.run(host, ["cat", path])
        return out if status == 0 else None

    async def write(self, host: str, path: str, text: str, mode: str = "600") -> None:
        status, _ = await self.run(host, cmd.write(path, mode), text)
        if status != 0:
            raise BackendError(f"cannot write {path} on {host}")

    async def ceph_json(self, host: str, *words: str) -> Any:
        status, out = await self.run(host, cmd.ceph_json(*words))
        if status != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    async def on_all(self, hosts: Sequence[str],
                     do: Callable[[str], Awaitable[Any]]) -> list[Any]:
        return list(await asyncio.gather(*(do(h) for h in hosts)))

    async def wait(self, ctx: StepContext, what: str,
                   done: Callable[[], Awaitable[bool]]) -> None:
        started = self.clock.now()
        while not await done():
            if self.clock.now() - started > self.wait_limit:
                raise BackendError(f"{what}: not within {self.wait_limit:g} s")
            ctx.waiting(what)
            await self.clock.sleep(2.0)

    async def monmap(self, first: str, fsid: str, hosts: Sequence[CephHost],
                     mons: Mapping[str, str]) -> str:
        """The monmap (base64), made once on the first host and kept there."""
        status, out = await self.run(first, ["base64", "-w0", MONMAP])
        if status == 0 and out.strip():
            return out
        status, _ = await self.run(first, cmd.monmap(fsid, hosts, mons))
        status2, out = await self.run(first, ["base64", "-w0", MONMAP])
        if status != 0 or status2 != 0:
            raise BackendError(f"cannot make the monmap on {first}")
        return out
