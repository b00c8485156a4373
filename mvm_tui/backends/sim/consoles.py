"""Consoles of the simulated cluster: a VM's serial console shows a boot log and a root
prompt, a host's shell a prompt; both echo what is typed and answer a few commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mvm_tui.backends.base import ConsoleBusy, InvalidState, NotFound
from mvm_tui.backends.capabilities import KeptLog
from mvm_tui.backends.sim.state import HostState, VmState
from mvm_tui.models import PowerState

BOOT_LOG = (
    "[    0.000000] Linux version 6.1.0-sim-amd64 (debian-kernel@lists.debian.org)",
    "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1 console=ttyS0",
    "[    0.412345] virtio_blk virtio2: [vda] 20971520 512-byte logical blocks",
    "[    1.234567] EXT4-fs (vda1): mounted filesystem with ordered data mode",
    "[  OK  ] Started \x1b[0;1;39mcloud-init.service\x1b[0m - Cloud-init: Network Stage.",
    "[  OK  ] Started \x1b[0;1;39mqemu-guest-agent.service\x1b[0m - QEMU Guest Agent.",
    "",
    "Debian GNU/Linux 12 {name} ttyS0",
    "",
)

POWER_DOWN = ("[  OK  ] Reached target \x1b[0;1;39mSystem Power Off\x1b[0m.\r\n"
              "reboot: Power down\r\n")


def boot_text(vm: str) -> str:
    return "\r\n".join(BOOT_LOG).format(name=vm) + "\r\n"


class SimChannel:
    """One end of a simulated terminal: a line discipline that echoes and answers."""

    def __init__(self, name: str, greeting: str, on_close: Callable[[SimChannel], None]) -> None:
        self.name = name
        self.why = ""
        self.size = (80, 24)
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._line = bytearray()
        self._ended = False
        self._on_close = on_close
        self._out.put_nowait(greeting.encode() + self._prompt())

    def _prompt(self) -> bytes:
        return f"\x1b[1;32mroot@{self.name}\x1b[0m:~# ".encode()

    async def read(self) -> bytes:
        if self._ended and self._out.empty():
            return b""
        return await self._out.get()

    async def write(self, data: bytes) -> None:
        if self._ended:
            raise InvalidState(f"the console of {self.name} is closed")
        await asyncio.sleep(0)
        for byte in data:
            if byte == 0x0D:  # Enter: the command's answer, then a prompt
                command = self._line.decode(errors="replace").strip()
                self._line.clear()
                self._out.put_nowait(b"\r\n" + self._answer(command) + self._prompt())
            elif byte == 0x7F:  # Backspace
                if self._line:
                    self._line.pop()
                    self._out.put_nowait(b"\b \b")
            elif byte >= 0x20:
                self._line.append(byte)
                self._out.put_nowait(bytes([byte]))

    def _answer(self, command: str) -> bytes:
        if not command:
            return b""
        if command == "hostname":
            return f"{self.name}\r\n".encode()
        if command == "stty size":
            columns, rows = self.size
            return f"{rows} {columns}\r\n".encode()
        word = command.split()[0]
        return f"-bash: {word}: command not found\r\n".encode()

    async def resize(self, columns: int, rows: int) -> None:
        await asyncio.sleep(0)
        self.size = (columns, rows)

    async def close(self) -> None:
        await asyncio.sleep(0)
        self.end(f"the console of {self.name} was closed here")

    def end(self, why: str) -> None:
        """The other end went away (the VM stopped, another client took the console)."""
        if not self._ended:
            self._ended, self.why = True, why
            self._out.put_nowait(b"")
            self._on_close(self)


class SimConsoles:
    """Consoles and Shells (backends/capabilities.py) of the simulator: one client per VM
    console, as libvirt allows."""

    def __init__(self, hosts: dict[str, HostState], vms: dict[str, VmState],
                 reach: Callable[[HostState], Awaitable[None]]) -> None:
        self._hosts, self._vms, self._reach = hosts, vms, reach
        self._held: dict[str, SimChannel] = {}  # VM -> the channel holding its console
        self._where: dict[str, tuple[str, int]] = {}  # VM -> (host, generation) at its open

    async def open_console(self, vm: str, *, force: bool = False) -> SimChannel:
        v = self._vms.get(vm)
        if v is None:
            raise NotFound(f"VM {vm} does not exist")
        await self._reach(self._hosts[v.host])
        if v.power not in (PowerState.RUNNING, PowerState.PAUSED):
            raise InvalidState(f"{vm} is {v.power.value}: its console exists while it runs")
        held = self._held.get(vm)
        if held is not None:
            if not force:
                raise ConsoleBusy(f"another client holds the console of {vm}")
            held.end(f"another client took the console of {vm} over")
        channel = SimChannel(vm, boot_text(vm), lambda c: self._release(vm, c))
        self._held[vm] = channel
        self._where[vm] = (v.host, v.generation)
        return channel

    def settle(self) -> None:
        """Consoles of VMs that stopped or moved since they were opened end (as libvirt's
        stream ends with the QEMU process it reads)."""
        for vm, channel in list(self._held.items()):
            v = self._vms.get(vm)
            if v is None or v.power not in (PowerState.RUNNING, PowerState.PAUSED):
                channel.end(f"{vm} stopped: its console with it")
            elif (v.host, v.generation) != self._where[vm]:
                channel.end(f"{vm} left {self._where[vm][0]}: its console there ended")

    async def boot_log(self, vm: str) -> KeptLog:
        v = self._vms.get(vm)
        if v is None:
            raise NotFound(f"VM {vm} does not exist")
        await self._reach(self._hosts[v.host])
        text = boot_text(vm)
        if v.power is PowerState.SHUTOFF:
            text += POWER_DOWN
        return KeptLog(text, f"{v.host}:/var/log/libvirt/qemu/{vm}-serial.log")

    def _release(self, vm: str, channel: SimChannel) -> None:
        if self._held.get(vm) is channel:
            del self._held[vm]

    async def open_shell(self, host: str, columns: int, rows: int) -> SimChannel:
        h = self._hosts.get(host)
        if h is None:
            raise NotFound(f"host {host} does not exist")
        await self._reach(h)
        channel = SimChannel(host, f"Welcome to Ubuntu 22.04.4 LTS ({host})\r\n\r\n",
                             lambda c: None)
        channel.size = (columns, rows)
        return channel
