"""Polling fan-out and SSH command rate on the real lab, with latency added on its links.

Prints: the time to poll one host, to poll every host at once and their ratio (one loop per
host: aim under 1.5x); and commands per second over one pooled SSH connection against a fresh
`ssh` process per command. Needs root and the lab (built when it is not up).
Run: .venv/bin/python bench/poll_fanout.py [--delay-ms 50] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from mvm_tui import lab
from mvm_tui.backends.real import RealBackend
from mvm_tui.config import load_config


async def timed(make, rounds: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        await make()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def bench(delay_ms: float, rounds: int) -> None:
    info = lab.current() or lab.up()
    cluster = load_config(info.config_path).clusters[0]
    backend = RealBackend(cluster)
    names = [h.name for h in backend.hosts]
    try:
        lab.netem(delay_ms)
        await asyncio.gather(*(backend.poll_host(n) for n in names))  # connect everything
        one = await timed(lambda: backend.poll_host(names[0]), rounds)
        every = await timed(lambda: asyncio.gather(*(backend.poll_host(n) for n in names)),
                            rounds)
        print(f"lab: {len(names)} hosts, +{delay_ms:g} ms on every packet a host sends")
        print(f"poll one host:        median {one * 1000:.0f} ms ({rounds} rounds)")
        print(f"poll all {len(names)} at once:  median {every * 1000:.0f} ms "
              f"(ratio {every / one:.2f}x)")

        n = 50
        t0 = time.perf_counter()
        for _ in range(n):
            await backend.ssh.run(names[0], ["true"])
        pooled = n / (time.perf_counter() - t0)
        h = info.hosts[0]
        ssh = ["ssh", "-q", "-i", str(h.key_file), "-o", f"UserKnownHostsFile={h.known_hosts}",
               "-o", "BatchMode=yes", "-p", str(h.port), f"{h.user}@{h.address}", "true"]
        m = 10
        t0 = time.perf_counter()
        for _ in range(m):
            await asyncio.to_thread(subprocess.run, ssh, check=True, timeout=30)
        fresh = m / (time.perf_counter() - t0)
        print(f"commands per second:  pooled connection {pooled:.1f}/s, "
              f"fresh ssh per command {fresh:.1f}/s ({pooled / fresh:.1f}x)")
    finally:
        lab.netem(0)
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(bench(args.delay_ms, args.rounds))


if __name__ == "__main__":
    main()
