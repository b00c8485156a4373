"""The console (issue 18): keystroke-to-echo latency, and the render cost of a full screen.

TUI echo: the demo cluster at 120x40 (its clock not moved: no poll meanwhile), a running VM's
serial console open, N letters typed with Pilot.press (an untimed Enter every 40: no wrap).
Per key, from the press to: the letter in the Terminal's pyte screen at the cursor's cell; the
Terminal's render_line giving it; the paint of the screen holding it. Hooks on Terminal.feed,
Terminal.render_line and App._display take the times, so Pilot's idle waits (>= 20 ms each)
bound how long the bench runs, not what it measures.
SSH echo: SshShells against the tests' in-process asyncssh server (tests/backends/
ssh_server.py, imported from the repo root), write(b"x") until read() has it. That server
gives `sh` pipes, not a pty, so nothing echoes by itself: the shell execs `cat`, which writes
back each byte as it comes (with a pty the kernel's echo would).
Render: a Terminal filling an app of each size is fed a full screen of coloured output, an
`ls --color` listing (scrolling) or a `top` screen (cursor moves, reverse video, 256 and
24-bit colours), then render_lines renders every line, as the compositor asks for them.
Figures are median and p95; "MB/s absorbed": screen bytes over the median feed + render.
Run: .venv/bin/python bench/console.py [--keys 200] [--repeat 50] [--sizes 80x24,200x50]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.strip import Strip

from mvm_tui.app import MvmApp
from mvm_tui.backends.ssh import SshOptions, SshPool, SshTarget
from mvm_tui.backends.ssh.shell import SshShells
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.models import PowerState
from mvm_tui.screens.console import ConsoleScreen
from mvm_tui.session import open_session
from mvm_tui.widgets.terminal import Terminal

ROOT = Path(__file__).resolve().parent.parent
LETTERS = "abcdefghijklmnopqrstuvwxyz"
LINE = 40  # letters typed before an untimed Enter
LS = ("01;34", "01;32", "01;36", "00", "01;31", "40;33;01", "38;5;208", "38;2;255;128;0")


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figure(label: str, seconds: Sequence[float], extra: str = "") -> str:
    return (f"{label:<58} median {statistics.median(seconds) * 1000:8.3f} ms  "
            f"p95 {percentile(seconds, 95) * 1000:8.3f} ms  n={len(seconds)}{extra}")


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        await pilot.pause()


@dataclass
class Echo:  # a letter typed, the cell it echoes to, and when (perf_counter) it got where
    char: str
    x: int
    y: int
    t0: float
    fed: float = 0.0
    rendered: float = 0.0
    painted: float = 0.0


def hook(app: App[Any], terminal: Terminal, current: Callable[[], Echo | None]) -> None:
    """Time the current echo as it reaches the pyte screen, a rendered line and a paint."""
    feed, render_line, display = terminal.feed, terminal.render_line, app._display

    def fed(data: bytes) -> None:
        feed(data)
        e = current()
        if e and not e.fed and terminal.screen_state.buffer[e.y][e.x].data == e.char:
            e.fed = time.perf_counter()

    def rendered(y: int) -> Strip:
        strip = render_line(y)
        e = current()
        if e and e.fed and not e.rendered and y == e.y and strip.text[e.x:e.x + 1] == e.char:
            e.rendered = time.perf_counter()
        return strip

    def painted(screen: Screen[Any], renderable: RenderableType | None) -> None:
        display(screen, renderable)
        e = current()
        if e and e.rendered and not e.painted:
            e.painted = time.perf_counter()

    terminal.feed = fed  # type: ignore[method-assign]
    terminal.render_line = rendered  # type: ignore[method-assign]
    app._display = painted  # type: ignore[method-assign]


async def tui_echo(keys: int) -> list[str]:
    clock = VirtualClock()
    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(demo_config(), demo=True, clock=clock,
                               db_path=Path(tmp) / "runs.db")
        cluster = session.clusters[0]
        app = MvmApp(cluster, refresh_delay=0.0, prompts=session.prompts)
        echoes: list[Echo] = []
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.up_to_date and cluster.poller.polls_done
                        >= len(cluster.backend.hosts), "the first poll")
            vm = next(v.name for v in cluster.snapshot().vms if v.power is PowerState.RUNNING)
            await pilot.press("3", "slash", *vm, "enter", "c")
            await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the console")
            terminal = app.screen.query_one(Terminal)
            term = terminal.screen_state

            def prompted() -> bool:
                return terminal.text[term.cursor.y].endswith(f"root@{vm}:~#")

            await until(pilot, prompted, "a prompt")
            hook(app, terminal, lambda: echoes[-1] if echoes else None)
            for n in range(keys):
                if n and n % LINE == 0:
                    await pilot.press("enter")
                    await until(pilot, prompted, "a prompt")
                echo = Echo(LETTERS[n % 26], term.cursor.x, term.cursor.y, time.perf_counter())
                echoes.append(echo)
                await pilot.press(echo.char)
                await until(pilot, lambda: bool(echoes[-1].painted), f"the echo of key {n}")
        await session.close()
    where = f"TUI console of {vm}, 120x40"
    return [figure(f"{where}: key -> pyte screen", [e.fed - e.t0 for e in echoes]),
            figure(f"{where}: key -> render_line", [e.rendered - e.t0 for e in echoes]),
            figure(f"{where}: key -> painted", [e.painted - e.t0 for e in echoes])]


async def ssh_echo(keys: int) -> list[str]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from tests.backends.ssh_server import SshTestServer
    except ImportError as exc:
        return [f"SSH shell echo: skipped, the tests' SSH server is not importable ({exc})"]
    with tempfile.TemporaryDirectory() as tmp:
        server = SshTestServer(Path(tmp))
        await server.start()
        known = Path(tmp) / "known_hosts"
        known.write_text(server.known_hosts_line())
        pool = SshPool([SshTarget("h1", "127.0.0.1", server.port, "root",
                                  key_file=server.key_file, known_hosts=known)],
                       SshOptions(connect_timeout=5, command_timeout=20))
        seconds: list[float] = []
        try:
            shell = await SshShells(pool).open_shell("h1", 80, 24)

            async def read_until(want: bytes) -> None:
                out = b""
                while want not in out:
                    data = await shell.read()
                    if not data:
                        raise SystemExit(f"bench: the SSH shell ended, having said {out!r}")
                    out += data

            await shell.write(b"echo ready; exec cat\n")  # (cat reads all that follows)
            await read_until(b"ready")
            for n in range(keys):
                char = LETTERS[n % 26].encode()
                t0 = time.perf_counter()
                await shell.write(char)
                await read_until(char)
                seconds.append(time.perf_counter() - t0)
            await shell.close()
        finally:
            await pool.close()
            await server.stop()
    return [figure("SSH shell (in-process asyncssh, cat): write -> read", seconds)]


def row(segments: Sequence[tuple[str, str]], columns: int) -> str:
    """(SGR, text) segments, cut or padded to exactly `columns` cells."""
    out, used = [], 0
    for sgr, text in segments:
        text = text[:columns - used]
        out.append(f"\x1b[{sgr}m{text}")
        used += len(text)
    return "".join(out) + " " * (columns - used) + "\x1b[0m"


def ls_screen(columns: int, rows: int, seed: int) -> bytes:
    """`ls --color`: a screen's worth of lines of coloured names, scrolling the screen."""
    per_line = max(1, columns // 14)
    names = [(LS[(n + seed) % len(LS)], f"f{seed}-{n}.txt".ljust(14))
             for n in range(per_line * rows)]
    return "".join(row(names[r * per_line:(r + 1) * per_line], columns) + "\r\n"
                   for r in range(rows)).encode()


def top_screen(columns: int, rows: int, seed: int) -> bytes:
    """`top`: every row addressed by a cursor move and filled, its header in reverse video."""
    out = [f"\x1b[H{row([('1', f'top - up {seed} days, load average: 0.42')], columns)}",
           f"\x1b[2;1H{row([('7', '    PID USER       %CPU  %MEM COMMAND')], columns)}"]
    for r in range(3, rows + 1):
        cpu = (r * 13 + seed) % 100
        out.append(f"\x1b[{r};1H" + row([
            ("0", f"{1000 + r * 7 + seed:>7} "), ("36", "libvirt+  "),
            ("31" if cpu > 50 else "32", f"{cpu:>5.1f} "), (f"38;5;{r % 256}", f"{r % 9:>5.1f} "),
            (f"1;38;2;{r % 256};90;200", f"qemu-system-x86_64 -name guest=vm-{r} " * 4),
        ], columns))
    return "".join(out).encode()


class TerminalApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Terminal()


async def render_cost(columns: int, rows: int, repeat: int) -> list[str]:
    lines: list[str] = []
    async with TerminalApp().run_test(size=(columns, rows)) as pilot:
        terminal = pilot.app.query_one(Terminal)
        await until(pilot, lambda: terminal.screen_state.columns == columns
                    and terminal.screen_state.lines == rows, "the terminal's size")
        for kind, make in (("ls --color", ls_screen), ("top", top_screen)):
            screens = [make(columns, rows, seed) for seed in range(repeat + 1)]
            feeds: list[float] = []
            renders: list[float] = []
            for data in screens:
                t0 = time.perf_counter()
                terminal.feed(data)
                t1 = time.perf_counter()
                strips = terminal.render_lines(terminal.size.region)
                feeds.append(t1 - t0)
                renders.append(time.perf_counter() - t1)
                if [s.text.rstrip() for s in strips] != terminal.text:
                    raise SystemExit(f"bench: {kind}: the lines rendered are not the screen's")
            feeds, renders = feeds[1:], renders[1:]  # the first: warming up
            both = [f + r for f, r in zip(feeds, renders, strict=True)]
            per_screen = statistics.mean(len(d) for d in screens[1:])
            label = f"render {columns}x{rows} {kind} ({per_screen:,.0f} B/screen)"
            lines += [figure(f"{label}: feed", feeds),
                      figure(f"{label}: render_lines", renders),
                      figure(f"{label}: both", both,
                             f"  {per_screen / statistics.median(both) / 1e6:.2f} MB/s absorbed")]
    return lines


async def bench(args: argparse.Namespace) -> None:
    print("\n".join(await tui_echo(args.keys)), flush=True)
    if not args.no_ssh:
        print("\n".join(await ssh_echo(args.keys)), flush=True)
    for columns, rows in args.sizes:
        print("\n".join(await render_cost(columns, rows, args.repeat)), flush=True)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=200,
                        help="keystrokes timed in the TUI console, and over SSH")
    parser.add_argument("--repeat", type=int, default=50,
                        help="full screens fed and rendered, of each kind and size")
    parser.add_argument("--sizes", default="80x24,200x50",
                        type=lambda s: [tuple(map(int, t.split("x"))) for t in s.split(",")],
                        help="comma-separated COLUMNSxROWS terminal sizes for the render cost")
    parser.add_argument("--no-ssh", action="store_true",
                        help="leave out the echo over SSH (the tests' in-process server)")
    args = parser.parse_args(argv)
    if args.keys < 1 or args.repeat < 1 or any(len(t) != 2 or min(t) < 2 for t in args.sizes):
        parser.error("--keys and --repeat: at least 1; --sizes: COLUMNSxROWS, each at least 2")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(bench(parse(argv)))


if __name__ == "__main__":
    main()
