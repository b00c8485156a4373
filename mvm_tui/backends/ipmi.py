"""IPMI power-off of a lost host, from the jump box with ipmitool (lanplus). The BMC password
is never on a command line: ipmitool -E reads it from IPMI_PASSWORD in its environment, given
to it from the systemd credential `ipmi-password` ($CREDENTIALS_DIRECTORY/ipmi-password, see
contrib/mvm-tui-ha.service) or else from IPMI_PASSWORD in mvm-tui's own environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mvm_tui.backends.base import BackendError
from mvm_tui.clock import within

TIMEOUT = 30.0
CREDENTIAL = "ipmi-password"  # the name of the systemd credential (LoadCredential=)
NO_PASSWORD = ("no BMC password: give the HA service the systemd credential ipmi-password "
               "(LoadCredential=, see contrib/mvm-tui-ha.service), or set IPMI_PASSWORD in "
               "mvm-tui's environment: ipmitool -E reads the BMC password from it")


def ipmi_password(environ: Mapping[str, str] | None = None) -> str | None:
    """The BMC password: the systemd credential $CREDENTIALS_DIRECTORY/ipmi-password when
    there is one (its trailing newline is not part of it), else IPMI_PASSWORD; None if
    neither is set. BackendError if the credential is there but cannot be read."""
    environ = os.environ if environ is None else environ
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / CREDENTIAL
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BackendError(f"cannot read the credential {path}: {why}") from None
        else:
            password = text.rstrip("\r\n")
            if password:
                return password
    return environ.get("IPMI_PASSWORD") or None


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
        password = ipmi_password()
        if password is None:
            raise BackendError(NO_PASSWORD)
        await self._run(host, password, "chassis", "power", "off")
        status = await self._run(host, password, "chassis", "power", "status")
        if "is off" not in status.lower():
            raise BackendError(f"{host}: its BMC still says {status.strip()!r}")

    async def _run(self, host: str, password: str, *command: str) -> str:
        argv = self.argv(host, *command)
        try:  # the password only in ipmitool's own environment (-E), never in argv
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True,
                env={**os.environ, "IPMI_PASSWORD": password})
        except OSError as exc:
            raise BackendError(f"cannot run {self.tool}: {exc}") from None
        try:
            out, err = await within(proc.communicate(), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # and whatever it started
            await proc.wait()
            raise BackendError(f"{shlex.join(argv)}: no answer within {self.timeout:g} s") from None
        if proc.returncode != 0:
            raise BackendError(f"{shlex.join(argv)} failed ({proc.returncode}): "
                               f"{(err or out).decode(errors='replace').strip()[:300]}")
        return out.decode(errors="replace")
