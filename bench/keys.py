"""Key latency while the cluster is polled: the simulator at 64 hosts x 5,000 VMs, at 160x50.

Per key: p50, p95 and max of the wall time from the key event posted to the app until the
screen is repainted with its effect, and of the process CPU time then. A poll tick (the virtual
clock moved by the poll interval: every host polled, the screens refreshed) starts with every
Nth key, so some keys land while a tick is pending, as in use: "tick p50" is theirs alone;
"full gc", how many keys a full garbage collection ran in.

How a key is timed: the Key event is posted to the app (as the driver does; Pilot.press would
add two idle waits of >= 20 ms each); then the widgets (and scrollbars) process what is queued,
and once nothing is, a dirty screen is painted (what Textual's update timer does up to 1/60 s
later: that idle wait is left out), until the effect holds (the cursor on the row expected, the
filter text, the screen switched, ...), nothing is queued, dirty or waiting for after the paint
(the Footer's recompose), and the last paint was of the current screen. After each key,
untimed, the tick is let finish and the effect is checked against the inventory (the rows the
filter should leave): a key that did nothing fails the bench instead of timing a no-op.
Headless, a paint is composed but not written to a terminal.

Run: .venv/bin/python bench/keys.py [--hosts 64] [--vms 5000] [--only cursor,filter] ...
(--help lists all); --profile FILE writes a cProfile of the timed spans only (inflating them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import math
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from textual import events
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key
from textual.message_pump import MessagePump
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim import scaled_cluster
from mvm_tui.clock import VirtualClock, within
from mvm_tui.config import demo_config
from mvm_tui.screens.history import HistoryScreen
from mvm_tui.screens.hosts import HostsScreen
from mvm_tui.screens.summary import SummaryScreen
from mvm_tui.screens.vm_detail import VmDetailScreen
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import open_session
from mvm_tui.widgets.vm_table import VmRow, VmTable

GROUPS = ("cursor", "filter", "screens", "detail")
SCREEN_KEYS: dict[str, tuple[str, type[Screen[None]]]] = {  # mvm_tui/app.py's bindings
    "1": ("Summary", SummaryScreen), "2": ("Hosts", HostsScreen), "3": ("VMs", VmsScreen),
    "4": ("History", HistoryScreen),
}
KEY_TIMEOUT = 60.0  # wall seconds for one key's effect to show


def key_event(key: str) -> events.Key:
    """The Key event the terminal driver would send for `key` (as Pilot.press makes it)."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    try:
        name = _get_unicode_name_from_key(REPLACED_KEYS.get(key, key))
        char: str | None = unicodedata.lookup(name)
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    on_tick: list[float] = field(default_factory=list)  # wall, of the keys that met a tick
    full_gc: int = 0  # keys during which a full garbage collection ran


class KeyProbe:
    """Presses keys one at a time, times each to its painted effect, and runs poll ticks."""

    def __init__(self, app: MvmApp, pilot: Pilot[Any], clock: VirtualClock, cluster: Cluster,
                 tick_every: int, profiler: cProfile.Profile | None) -> None:
        self.app, self.pilot, self.clock, self.cluster = app, pilot, clock, cluster
        self.tick_every = tick_every
        self.profiler = profiler
        self.samples: dict[str, Samples] = {}
        self.presses = 0
        self.paints = 0
        self.painted: Screen[Any] | None = None  # the screen of the last paint
        self.full_gcs = 0
        self._waiting = 0  # the pumps a drain waits for
        self._drained = asyncio.Event()

        def handled() -> None:
            self._waiting -= 1
            if self._waiting <= 0:
                self._drained.set()

        handled._param_count = 0  # type: ignore[attr-defined]  # what Textual's invoke caches
        self._handled = handled
        gc.callbacks.append(self._count_gc)
        display = app._display

        def counted(screen: Screen[Any], renderable: RenderableType | None) -> None:
            self.paints += 1
            self.painted = screen
            display(screen, renderable)

        app._display = counted  # type: ignore[method-assign]

    def close(self) -> None:
        gc.callbacks.remove(self._count_gc)

    def _count_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            self.full_gcs += 1

    async def press(self, label: str, key: str, done: Callable[[], bool],
                    check: Callable[[], str | None] = lambda: None) -> None:
        """Press `key`, timed until `done()` holds and is painted; then, untimed, let a tick
        finish and `check()` the effect (a message if it is wrong)."""
        tick = self.tick_every > 0 and self.presses % self.tick_every == 0
        self.presses += 1
        polls = self.cluster.poller.polls_done
        ticking = asyncio.create_task(self.clock.advance(self.cluster.poller.timers.interval)) \
            if tick else None
        event = key_event(key)
        if self.profiler is not None:
            self.profiler.enable()
        gcs = self.full_gcs
        t0, c0 = time.perf_counter(), time.process_time()
        self.app.post_message(event)  # (the app, as for the driver's, is its sender)
        await self._until_painted(label, done)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if self.profiler is not None:
            self.profiler.disable()
        samples = self.samples.setdefault(label, Samples())
        samples.wall.append(wall)
        samples.cpu.append(cpu)
        samples.full_gc += self.full_gcs > gcs
        if ticking is not None:
            samples.on_tick.append(wall)
            await ticking
            hosts = len(self.cluster.poller.snapshot().hosts)
            await self.until(lambda: self.cluster.poller.polls_done >= polls + hosts
                             and self.app.up_to_date)
        await self.pilot.pause()
        problem = check()
        if problem is not None:
            raise SystemExit(f"bench: {label}: {problem}")

    async def _until_painted(self, label: str, done: Callable[[], bool]) -> None:
        deadline = time.perf_counter() + KEY_TIMEOUT
        while True:
            if time.perf_counter() > deadline:
                raise SystemExit(f"bench: {label}: no effect shown after {KEY_TIMEOUT:g} s")
            screen = self.app.screen
            queued = [p for p in self._pumps(screen) if _queued(p)]
            await self._drain([*queued, self.app, screen])
            if queued or self.app._batch_count:
                continue
            if _dirty(screen):  # and nothing queued: the paint Textual's update timer does
                screen._on_timer_update()
                continue
            if done() and self.painted is screen and not self._busy(screen):
                paints = self.paints  # one last look: every pump idle, and still nothing to do
                await self._drain(self._pumps(screen))
                if self.paints == paints and not _dirty(screen) and not self._busy(screen):
                    return
                continue
            await asyncio.sleep(0)

    def _pumps(self, screen: Screen[Any]) -> list[MessagePump]:
        """The app, the screen and its widgets with their scrollbars (not DOM children)."""
        pumps: list[MessagePump] = [self.app]
        for widget in screen.walk_children(Widget, with_self=True):
            pumps.append(widget)
            pumps += [bar for bar in (widget._vertical_scrollbar, widget._horizontal_scrollbar,
                                      widget._scrollbar_corner) if bar is not None]
        return pumps

    async def _drain(self, pumps: Sequence[MessagePump]) -> None:
        """Until each pump has handled what was queued to it when called (as Pilot does, but
        with a callback whose signature Textual need not inspect each time)."""
        self._drained.clear()
        self._waiting = sum(pump.post_message(events.Callback(callback=self._handled))
                            for pump in pumps)
        if self._waiting:  # a pump closed meanwhile never answers: the caller looks again
            with contextlib.suppress(TimeoutError):
                await within(self._drained.wait(), 1.0)

    def _busy(self, screen: Screen[Any]) -> bool:
        """A message waits, a widget asked for a repaint its screen has not heard of yet, or
        the screen holds callbacks for after its repaint (the Footer's recompose)."""
        if screen._callbacks or self.app._batch_count:
            return True
        return any(_queued(p) or (isinstance(p, Widget) and (
                   p._repaint_required or p._layout_required or p._recompose_required))
                   for p in self._pumps(screen))

    async def until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("bench: timed out")
            await self.pilot.pause(0.001)

    def shown(self, kind: type[Screen[None]]) -> Callable[[], bool]:
        return lambda: isinstance(self.app.screen, kind) and self.painted is self.app.screen


def _queued(pump: MessagePump) -> bool:
    return not pump._message_queue.empty() or bool(pump._next_callbacks)


def _dirty(screen: Screen[Any]) -> bool:
    return bool(screen._layout_required or screen._scroll_required or screen._repaint_required
                or screen._recompose_required or screen._dirty_widgets)


async def cursor_keys(probe: KeyProbe, vms: VmsScreen, presses: int) -> None:
    """down, up and pagedown on the VMs table: each must put the cursor on the row expected."""
    table = vms.query_one(VmTable)

    async def move(label: str, key: str, step: Callable[[int], int], reset: str) -> None:
        target = step(table.cursor)
        if target == table.cursor:  # at the end the key would do nothing: start over, untimed
            await probe.pilot.press(reset)
            target = step(table.cursor)
        expected = table.rows[target].key
        await probe.press(label, key, lambda: table.cursor_key == expected)

    def page(cursor: int) -> int:
        return min(cursor + max(1, table.size.height - 2), len(table.rows) - 1)

    for _ in range(presses):
        await move("down", "down", lambda c: min(c + 1, len(table.rows) - 1), "home")
    for _ in range(presses):
        await move("up", "up", lambda c: max(c - 1, 0), "end")
    for _ in range(presses):
        await move("pagedown", "pagedown", page, "home")


async def filter_keys(probe: KeyProbe, vms: VmsScreen, rounds: int, text: str) -> None:
    """`/`, each character of `text`, Backspace, Escape: the filter shows, the table holds the
    VMs the text matches, Escape hides it and shows every VM again."""
    box = vms.query_one("#vm-filter", Input)
    table = vms.query_one(VmTable)

    def value_is(value: str) -> Callable[[], bool]:
        return lambda: box.value == value

    def rows_match(value: str) -> Callable[[], str | None]:
        def check() -> str | None:
            words = value.lower().split()
            want = sum(1 for v in probe.cluster.snapshot().vms if VmRow(v).matches(words))
            got = len(table.rows)
            return None if got == want else f"{got} rows shown, {want} match {value!r}"
        return check

    for _ in range(rounds):
        await probe.press("/", "/", lambda: bool(box.display) and probe.app.focused is box
                          and probe.painted is vms)
        for n in range(1, len(text) + 1):
            typed = text[:n]
            await probe.press(f"type {text[n - 1]!r}", text[n - 1], value_is(typed),
                              rows_match(typed))
        kept = text[:-1]
        await probe.press("backspace", "backspace", value_is(kept), rows_match(kept))
        await probe.press("escape (filter)", "escape",
                          lambda: not box.display and box.value == ""
                          and probe.app.focused is table, rows_match(""))


async def screen_keys(probe: KeyProbe, rounds: int) -> None:
    """1, 2, 3, 4: Summary, Hosts, VMs, History, in turn; then back to VMs (untimed)."""
    for _ in range(rounds):
        for key, (name, kind) in SCREEN_KEYS.items():
            await probe.press(f"{key} {name}", key, probe.shown(kind))
    await probe.pilot.press("3")


async def detail_keys(probe: KeyProbe, vms: VmsScreen, rounds: int) -> None:
    """Enter on a VM opens its detail screen; Escape goes back to the VMs."""
    table = vms.query_one(VmTable)

    def detail_of(name: str | None) -> Callable[[], bool]:
        shown = probe.shown(VmDetailScreen)
        return lambda: shown() and getattr(probe.app.screen, "vm_name", None) == name

    for n in range(rounds):
        if n:
            await probe.pilot.press("down")  # another VM each time, untimed
        await probe.press("enter (detail)", "enter", detail_of(table.cursor_key))
        await probe.press("escape (detail)", "escape", lambda: probe.app.screen is vms
                          and probe.painted is vms)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def report(samples: dict[str, Samples]) -> list[str]:
    lines = [f"{'key':<17}{'n':>4}{'p50':>8}{'p95':>8}{'max':>8}{'cpu p50':>9}{'cpu p95':>9}"
             f"{'tick p50':>10}{'full gc':>9}  (ms)"]
    for label, s in samples.items():
        tick = f"{statistics.median(s.on_tick) * 1000:10.1f}" if s.on_tick else f"{'-':>10}"
        lines.append(
            f"{label:<17}{len(s.wall):>4}{percentile(s.wall, 50) * 1000:8.1f}"
            f"{percentile(s.wall, 95) * 1000:8.1f}{max(s.wall) * 1000:8.1f}"
            f"{percentile(s.cpu, 50) * 1000:9.1f}{percentile(s.cpu, 95) * 1000:9.1f}{tick}"
            f"{s.full_gc:>9}")
    return lines


async def press_keys(probe: KeyProbe, vms: VmsScreen, args: argparse.Namespace) -> None:
    groups = args.only.split(",")
    if "cursor" in groups:
        await cursor_keys(probe, vms, args.presses)
    if "filter" in groups:
        await filter_keys(probe, vms, args.rounds, args.filter)
    if "screens" in groups:
        await screen_keys(probe, args.rounds)
    if "detail" in groups:
        await detail_keys(probe, vms, args.rounds)


async def bench(args: argparse.Namespace) -> None:
    clock = VirtualClock()
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        backend = scaled_cluster(clock, hosts=args.hosts, vms=args.vms)
        session = open_session(demo_config(), demo=True, clock=clock,
                               db_path=Path(tmp) / "runs.db", backend=backend)
        cluster = session.clusters[0]
        app = MvmApp(cluster, refresh_delay=0.0, settle_gc=True)  # as the TUI does
        app.animation_level = "none"  # an animation's frames are not a key's latency
        async with app.run_test(size=(160, 50)) as pilot:
            probe = KeyProbe(app, pilot, clock, cluster, args.tick_every, profiler)
            await pilot.press("3")
            await probe.until(lambda: isinstance(app.screen, VmsScreen)
                              and cluster.poller.polls_done >= args.hosts and app.up_to_date
                              and len(app.screen.query_one(VmTable).rows) == args.vms)
            await pilot.pause()
            vms = app.screen
            assert isinstance(vms, VmsScreen)
            try:
                await press_keys(probe, vms, args)
            finally:
                probe.close()
            interval = cluster.poller.timers.interval
        await session.close()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    every = f"1 key in {args.tick_every}" if args.tick_every > 0 else "no key"
    print(f"keys at {args.hosts} hosts x {args.vms} VMs, 160x50: a poll tick ({interval:g} s of "
          f"virtual time) starts with {every}" + (" (profiled)" if profiler else ""))
    print("\n".join(report(probe.samples)))


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--presses", type=int, default=40, help="of each cursor key")
    parser.add_argument("--rounds", type=int, default=20,
                        help="of the filter, of the screens 1-4, of the detail screen")
    parser.add_argument("--tick-every", type=int, default=3,
                        help="start a poll tick with every Nth key (0: none)")
    parser.add_argument("--filter", default="web-1", help="the filter text typed")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups of keys, of {', '.join(GROUPS)}")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed keys here")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(GROUPS)
    if unknown:
        parser.error(f"--only: unknown group {', '.join(sorted(unknown))}; "
                     f"expected some of {', '.join(GROUPS)}")
    if len(args.filter) < 2:
        parser.error("--filter: give at least 2 characters (Backspace leaves one)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(bench(parse(argv)))


if __name__ == "__main__":
    main()
    sys.exit(0)
