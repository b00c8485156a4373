"""IPMI power-off of a lost host, from the jump box with ipmitool (lanplus). The BMC password
is never in a file or on a command line: ipmitool -E reads it from IPMI_PASSWORD in
mvm-tui's environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from mvm_tui.backends.base import BackendError

TIMEOUT = 30.0


@dataclass(frozen=True)
class Ipmi:
    tool: str  # "ipmitool", or a path
    bmcs: Mapping[str, tuple[str, str]]  # host -> (BMC address, IPMI user)
    timeout: float = TIMEOUT  # per ipmitool command

    def argv(self, host: str, *command: str) -> list[str]:
        try:
            address, user = self.bmcs[host]
        except KeyError:
            raise BackendError(f"{host} has no ipmi_address in the config") from None
        return [self.tool, "-I", "lanplus", "-H", address, "-U", user, "-E", *command]

    def power_off_commands(self, host: str) -> list[str]:
        return [shlex.join(self.argv(host, "chassis", "power", "off")),
                shlex.join(self.argv(host, "chassis", "power", "status"))]

    async def power_off(self, host: str) -> None:
        """Power the host off and confirm its BMC says so."""
        if not os.environ.get("IPMI_PASSWORD"):
            raise BackendError("IPMI_PASSWORD is not set in mvm-tui's environment: ipmitool -E "
                               "reads the BMC password from it")
        await self._run(host, "chassis", "power", "off")
        status = await self._run(host, "chassis", "power", "status")
        if "is off" not in status.lower():
            raise BackendError(f"{host}: its BMC still says {status.strip()!r}")

    async def _run(self, host: str, *command: str) -> str:
        argv = self.argv(host, *command)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise BackendError(f"cannot run {self.tool}: {exc}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # and whatever it started
            await proc.wait()
            raise BackendError(f"{shlex.join(argv)}: no answer within {self.timeout:g} s") from None
        if proc.returncode != 0:
            raise BackendError(f"{shlex.join(argv)} failed ({proc.returncode}): "
                               f"{(err or out).decode(errors='replace').strip()[:300]}")
        return out.decode(errors="replace")
