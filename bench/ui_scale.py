"""The UI at scale: the simulator at 16x1,000, 64x5,000 and 128x10,000 (hosts x VMs),
headless at 160x50, the VMs screen shown.

Prints, per size: the first full render of the VMs screen (app start, first poll of every host,
every row shown); the work of a refresh tick (every host polled, the inventory rebuilt, the
table updated and repainted) as the process's CPU time, so Textual's idle waits do not count,
p50/p95/max over the ticks, with the simulator's share and the garbage collector's; and the
process's peak RSS. Each size runs in a process of its own, so its RSS is its own.
Run: .venv/bin/python bench/ui_scale.py [--size 64x5000 ...] [--ticks 30]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

SIZES = ("16x1000", "64x5000", "128x10000")


class GcTimer:
    """Time spent in the garbage collector, and the number of full (gen 2) collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._start = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds += time.process_time() - self._start
            self.full += info["generation"] == 2


class SimTimer:
    """CPU time spent inside the simulator's coroutines (their steps, not their waits), the
    garbage collector's left out: the simulator's part of a tick."""

    def __init__(self, gc_timer: GcTimer) -> None:
        self.seconds = 0.0
        self._gc = gc_timer

    def timed(self, call: Callable[..., Any]) -> Callable[..., Any]:
        @types.coroutine
        def stepped(coro: Any) -> Generator[Any, Any, Any]:
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                t0, gc0 = time.process_time(), self._gc.seconds
                try:
                    step = coro.throw(thrown) if thrown else coro.send(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    self.seconds += time.process_time() - t0 - (self._gc.seconds - gc0)
                try:
                    sent, thrown = (yield step), None
                except BaseException as exc:
                    sent, thrown = None, exc

        async def wrapper(*args: Any) -> Any:
            return await stepped(call(*args))

        return wrapper


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("bench: timed out")
        await pilot.pause(0.001)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(
    hosts: int, vms: int, ticks: int, load_period: float, profile_to: str | None
) -> None:
    from mvm_tui.app import MvmApp
    from mvm_tui.backends.sim import scaled_cluster
    from mvm_tui.clock import VirtualClock
    from mvm_tui.config import demo_config
    from mvm_tui.screens.vms import VmsScreen
    from mvm_tui.session import open_session
    from mvm_tui.widgets.vm_table import VmTable

    clock = VirtualClock()
    gc_timer = GcTimer()
    with tempfile.TemporaryDirectory() as tmp:
        backend = scaled_cluster(clock, hosts=hosts, vms=vms, load_period=load_period)
        sim = SimTimer(gc_timer)
        backend.poll_host = sim.timed(backend.poll_host)  # type: ignore[method-assign]
        backend.ceph_status = sim.timed(backend.ceph_status)  # type: ignore[method-assign]
        session = open_session(demo_config(), demo=True, clock=clock,
                               db_path=Path(tmp) / "runs.db", backend=backend)
        cluster = session.clusters[0]
        app = MvmApp(cluster, refresh_delay=0.0, settle_gc=True)  # as the TUI does
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, VmsScreen)
                        and cluster.poller.polls_done >= hosts and app.up_to_date
                        and len(app.screen.query_one(VmTable).rows) == vms)
            await pilot.pause()
            first = time.perf_counter() - t0
            profile = cProfile.Profile() if profile_to else None
            if profile:
                profile.enable()
            work: list[float] = []
            sim_work: list[float] = []
            in_gc: list[float] = []
            gc_full = gc_timer.full
            for _ in range(ticks):
                done = cluster.poller.polls_done
                cpu0, sim0, gc0 = time.process_time(), sim.seconds, gc_timer.seconds
                await clock.advance(cluster.poller.timers.interval)
                await until(pilot, lambda d=done: cluster.poller.polls_done >= d + hosts)
                await until(pilot, lambda: app.up_to_date)
                await pilot.pause()
                work.append(time.process_time() - cpu0)
                sim_work.append(sim.seconds - sim0)
                in_gc.append(gc_timer.seconds - gc0)
            gc_full = gc_timer.full - gc_full
            if profile:
                profile.disable()
                profile.dump_stats(profile_to)
        await session.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def figures(values: list[float]) -> str:
        return (f"p50 {statistics.median(values) * 1000:6.1f}  p95 {pct(values, 95) * 1000:6.1f}"
                f"  max {max(values) * 1000:6.1f} ms")

    every = f"every {load_period:g} s" if load_period else "at every poll, as on real hosts"
    print(f"{hosts} hosts x {vms} VMs, each VM's load sampled {every}")
    print(f"  first full render of the VMs screen: {first * 1000:.0f} ms")
    print(f"  refresh tick, CPU ({ticks} ticks):  {figures(work)}")
    print(f"    of which the simulator's polls:   {figures(sim_work)}")
    print(f"    of which garbage collection:      {figures(in_gc)} ({gc_full} full)")
    ui = [w - s - g for w, s, g in zip(work, sim_work, in_gc, strict=True)]
    print(f"    the rest (inventory, table, paint): {figures(ui)}")
    print(f"  peak RSS: {rss:.0f} MB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", action="append", help="HOSTSxVMS (repeatable); default: all")
    parser.add_argument("--ticks", type=int, default=30)
    parser.add_argument("--load-period", type=float, default=10.0,
                        help="the simulator samples a VM's load this often; 0: every poll")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the ticks into FILE")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a size run in this process
    args = parser.parse_args()
    if args.one:
        hosts, vms = (int(n) for n in args.one.split("x"))
        asyncio.run(bench(hosts, vms, args.ticks, args.load_period, args.profile))
        return
    for size in args.size or SIZES:
        more = ["--profile", f"{args.profile}.{size}"] if args.profile else []
        subprocess.run([sys.executable, __file__, "--one", size, "--ticks", str(args.ticks),
                        "--load-period", str(args.load_period), *more], check=True)


if __name__ == "__main__":
    main()
