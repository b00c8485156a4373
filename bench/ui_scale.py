"""The UI at scale: the simulator at 64 hosts x 5,000 VMs, headless at 160x50.

Prints: time to the first full render of the VMs screen (app start, first poll of every host,
5,000 rows shown), the time of one refresh tick (all hosts polled, the table rebuilt and
repainted) over several ticks, and the process's peak memory.
Run: .venv/bin/python bench/ui_scale.py [--hosts 64] [--vms 5000] [--ticks 20]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mvm_tui.app import MvmApp
from mvm_tui.backends.sim import scaled_cluster
from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.screens.vms import VmsScreen
from mvm_tui.session import open_session
from mvm_tui.widgets.vm_table import VmTable


async def until(pilot, condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("bench: timed out")
        await pilot.pause(0.001)


async def bench(hosts: int, vms: int, ticks: int) -> None:
    clock = VirtualClock()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        backend = scaled_cluster(clock, hosts=hosts, vms=vms)
        built = time.perf_counter() - t0
        session = open_session(demo_config(), demo=True, clock=clock,
                               db_path=Path(tmp) / "runs.db", backend=backend)
        cluster = session.clusters[0]
        app = MvmApp(cluster, refresh_delay=0.0)
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, VmsScreen)
                        and cluster.poller.polls_done >= hosts and app.up_to_date
                        and len(app.screen.query_one(VmTable).rows) == vms)
            await pilot.pause()
            first = time.perf_counter() - t0
            tick_times, poll_times = [], []
            for _ in range(ticks):
                done = cluster.poller.polls_done
                t0 = time.perf_counter()
                await clock.advance(cluster.poller.timers.interval)
                await until(pilot, lambda d=done: cluster.poller.polls_done >= d + hosts)
                polled = time.perf_counter() - t0
                await until(pilot, lambda: app.up_to_date)
                await pilot.pause()
                tick_times.append(time.perf_counter() - t0)
                poll_times.append(polled)
        await session.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cluster: {hosts} hosts, {vms} VMs (simulator built in {built * 1000:.0f} ms)")
    print(f"first full render of the VMs screen: {first * 1000:.0f} ms")
    print(f"refresh tick ({ticks} ticks): median {statistics.median(tick_times) * 1000:.1f} ms, "
          f"max {max(tick_times) * 1000:.1f} ms "
          f"(of which polling the simulator: median {statistics.median(poll_times) * 1000:.1f} ms)")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--vms", type=int, default=5000)
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(bench(args.hosts, args.vms, args.ticks))
    sys.exit(0)


if __name__ == "__main__":
    main()
