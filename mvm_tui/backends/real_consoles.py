"""The serial consoles of a real cluster's VMs: libvirt's console stream of the host the VM
runs on, over that host's libvirt connection (backends/libvirt/console.py), wherever libvirt
runs (in this process or apart)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial

from mvm_tui.backends.base import InvalidState
from mvm_tui.backends.capabilities import KeptLog
from mvm_tui.backends.libvirt.calls import LibvirtCalls
from mvm_tui.backends.libvirt.console import serial_log_path
from mvm_tui.backends.ssh.pool import SshPool
from mvm_tui.models import PowerState, Vm

KEPT_BYTES = 64 * 1024  # of a kept serial log, the end that is read


class LibvirtConsole:
    """A ConsoleChannel (backends/capabilities.py) over one libvirt console stream."""

    def __init__(self, host: LibvirtCalls, vm: str) -> None:
        self.host = host
        self.vm = vm
        self.why = ""  # why it ended, once it has
        self._number: int | None = None
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._ended = False

    async def open(self, force: bool) -> None:
        self._number = await self.host.open_console(self.vm, force, self._delivered)

    def _delivered(self, data: bytes, why: str) -> None:
        if not data:
            self.why = why
        self._out.put_nowait(data)

    async def read(self) -> bytes:
        if self._ended:
            return b""
        data = await self._out.get()
        self._ended = not data
        return data

    async def write(self, data: bytes) -> None:
        if self._number is None or self.why:
            raise InvalidState(f"the console of {self.vm} is closed")
        await self.host.console_write(self._number, data)

    async def resize(self, columns: int, rows: int) -> None:
        """A serial line has no size: the guest's `stty` sets it."""

    async def close(self) -> None:
        number, self._number = self._number, None
        if number is not None:
            await self.host.console_close(number)
        if not self.why:
            self._delivered(b"", f"the console of {self.vm} was closed here")


class RealConsoles:
    """Consoles (backends/capabilities.py): a VM's console on the host it runs on."""

    def __init__(self, vm_info: Callable[[str], Awaitable[Vm]],
                 hosts: Callable[[str], LibvirtCalls], ssh: SshPool) -> None:
        self._vm_info = vm_info
        self._hosts = hosts
        self._ssh = ssh

    async def boot_log(self, vm: str) -> KeptLog:
        found = await self._vm_info(vm)
        host = found.host
        if host is None:
            raise InvalidState(f"{vm} is defined on no host")
        path = await self._hosts(host).run(partial(serial_log_path, vm=vm), "console log")
        if not path:
            return KeptLog("", "", f"{vm}'s definition keeps no serial log (no <log> on its "
                                   "serial device; VMs mvm-tui creates have one)")
        result = await self._ssh.run(host, ["tail", "-c", str(KEPT_BYTES), path], sudo=True,
                                     timeout=30, check=False)
        if result.exit_status != 0:
            return KeptLog("", f"{host}:{path}", f"nothing kept on {host} yet: "
                                                 f"{result.stderr.strip() or 'no such file'}")
        return KeptLog(result.stdout, f"{host}:{path}")

    async def open_console(self, vm: str, *, force: bool = False) -> LibvirtConsole:
        found = await self._vm_info(vm)
        if found.host is None or found.power not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidState(f"{vm} is {found.power.value}: its console exists while it runs")
        console = LibvirtConsole(self._hosts(found.host), vm)
        await console.open(force)
        return console
