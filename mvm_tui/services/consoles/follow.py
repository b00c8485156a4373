"""A VM's console that follows the VM. libvirt's console stream ends with the QEMU process it
reads: at the end of a live migration (the VM goes on in a new process on another host), when
the VM is stopped or restarted. Then the console opens again where the VM runs now, or waits
for it to start again, and says so in the stream; the operator leaves when they wish. A guest
reboot keeps its QEMU process: the stream goes on and nothing needs doing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mvm_tui.backends.base import BackendError, ConsoleBusy, NotFound
from mvm_tui.backends.capabilities import ConsoleChannel, Consoles
from mvm_tui.models import PowerState, Vm

RECHECK_S = 1.0  # how often a stopped (or moving) VM is looked at again
LIVE = (PowerState.RUNNING, PowerState.PAUSED)


def notice(text: str) -> bytes:
    """A line of mvm-tui's own in the console's output (yellow, on a line of its own)."""
    return f"\r\n\x1b[33m[{text}]\x1b[0m\r\n".encode()


class FollowedConsole:
    """A ConsoleChannel on VM `vm`'s serial console that reopens where the VM runs next."""

    def __init__(self, consoles: Consoles, vm_info: Callable[[str], Awaitable[Vm]], vm: str,
                 *, wait: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.vm = vm
        self.why = ""
        self.reopened = 0  # (how many times it opened again)
        self.told: Callable[[str], None] | None = None  # hears each notice (History's log)
        self._consoles = consoles
        self._vm_info = vm_info
        self._wait = wait
        self._channel: ConsoleChannel | None = None
        self._said = b""  # mvm-tui's own notices, read before anything else
        self._waiting = False  # (said that it waits for the VM to start)
        self._closed = False

    async def open(self, force: bool) -> None:
        """The first opening: what it raises (ConsoleBusy, InvalidState...) is the caller's."""
        self._channel = await self._consoles.open_console(self.vm, force=force)

    async def read(self) -> bytes:
        while True:
            if self._said:
                said, self._said = self._said, b""
                return said
            if self.why or self._closed:
                return b""
            channel = self._channel
            if channel is None:
                await self._reopen()
                continue
            data = await channel.read()
            if data:
                return data
            self._channel = None
            if self._closed:
                self.why = channel.why
            else:
                self._say(channel.why)

    async def _reopen(self) -> None:
        """One look at the VM after its stream ended: the console opened again where it
        runs, or a notice, or a wait before the next look."""
        try:
            vm: Vm | None = await self._vm_info(self.vm)
        except NotFound:
            self._end(f"{self.vm} no longer exists")
            return
        except BackendError:
            vm = None  # (a host that does not answer: looked at again)
        if vm is not None and vm.host is not None and vm.power in LIVE:
            try:
                self._channel = await self._consoles.open_console(self.vm)
            except ConsoleBusy as exc:
                self._end(f"{exc}: not taken over")
                return
            except BackendError:
                pass  # (stopped or moved meanwhile: looked at again)
            else:
                self.reopened += 1
                self._waiting = False
                self._say(f"the console of {self.vm} is open again, on {vm.host}")
                return
        elif vm is not None and not self._waiting:
            self._waiting = True
            self._say(f"{self.vm} is {vm.power.value}: the console opens again when it starts")
            return
        await self._wait(RECHECK_S)

    def _end(self, why: str) -> None:
        self.why = why
        self._say(why)

    def _say(self, text: str) -> None:
        self._said += notice(text)
        if self.told is not None:
            self.told(text)

    async def write(self, data: bytes) -> None:
        if self._channel is None:
            return  # (between two streams: nobody to type to)
        await self._channel.write(data)

    async def resize(self, columns: int, rows: int) -> None:
        if self._channel is not None:
            await self._channel.resize(columns, rows)

    async def close(self) -> None:
        self._closed = True
        channel, self._channel = self._channel, None
        if channel is not None:
            await channel.close()
