"""Keystroke-to-echo through the real consoles, on the lab (root; `python -m mvm_tui.lab up`
first; --netem MS adds that much delay to every packet a lab host sends, as a far site would).

VM console: the lab's Linux guest (TCG, a busybox shell on ttyS0) defined on h1 if missing;
its console opened as the TUI opens it (RealBackend: libvirt's console stream, libvirt in its
own process, over the host's connection); per key, from write() until its echo comes back
(the guest's tty echoes it). Host shell: a login shell on h1 over the pooled SSH connection
(sshd's pty echoes it). Figures: median and p95 in ms.
Run: sudo .venv/bin/python bench/console_lab.py [--keys 200] [--netem 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Sequence

from mvm_tui import lab
from mvm_tui.backends.base import NotFound
from mvm_tui.backends.capabilities import ConsoleChannel
from mvm_tui.backends.real import RealBackend
from mvm_tui.clock import within
from mvm_tui.config import load_config
from mvm_tui.lab.delay import netem

GUEST = "bench-console"
LINE = 40  # keys typed before an untimed ctrl+u (the line cleared: no wrap)


async def until(channel: ConsoleChannel, text: bytes, seconds: float = 60.0) -> None:
    out = b""

    async def read() -> None:
        nonlocal out
        while text not in out:
            data = await channel.read()
            if not data:
                raise SystemExit(f"the channel ended: {channel.why}")
            out += data

    await within(read(), seconds)


async def echoes(channel: ConsoleChannel, keys: int) -> list[float]:
    times = []
    for i in range(keys):
        if i and i % LINE == 0:
            await channel.write(b"\x15")  # ctrl+u (untimed: its redraw read until quiet)
            await drain(channel)
        started = time.perf_counter()
        await channel.write(b"x")
        await until(channel, b"x", 10)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def drain(channel: ConsoleChannel) -> None:
    with contextlib.suppress(TimeoutError):  # (quiet for 50 ms)
        while await within(channel.read(), 0.05):
            pass


def say(what: str, times: list[float]) -> None:
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"{what:<44} median {statistics.median(times):7.2f} ms  p95 {p95:7.2f} ms  "
          f"n={len(times)}")


async def bench(args: argparse.Namespace) -> None:
    info = lab.current()
    if info is None:
        raise SystemExit("no lab is up: sudo .venv/bin/python -m mvm_tui.lab up")
    backend = RealBackend(load_config(info.config_path).clusters[0])
    try:
        try:
            await backend.vm_info(GUEST)
        except NotFound:
            lab.define_guest("h1", GUEST, "linux")
        console = await backend.consoles().open_console(GUEST, force=True)  # (no one else's)
        await console.write(b"\r")
        await until(console, b"# ", 120)  # (booted: its shell's prompt)
        await drain(console)
        netem(args.netem)
        say(f"VM console (libvirt stream), netem {args.netem:g} ms",
            await echoes(console, args.keys))
        await console.close()
        shell = await backend.shells().open_shell("h1", 80, 24)
        await shell.write(b"echo go\r")
        await until(shell, b"go\r\n")
        await drain(shell)
        say(f"host shell (SSH pty), netem {args.netem:g} ms", await echoes(shell, args.keys))
        await shell.close()
    finally:
        netem(0)
        await backend.close()


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=200, help="keystrokes timed (default 200)")
    parser.add_argument("--netem", type=float, default=0.0, metavar="MS",
                        help="delay added to every packet a lab host sends (default 0)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(bench(parse(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
