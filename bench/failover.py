"""Failover on the real lab: time from powering a host off to every failover VM running again
elsewhere, with the default HA timers and with the shortest safe ones; then the time for the
host's return to bring them back (failback).

Builds a fresh lab (root), defines an auto VM (RBD disk) and a failover VM on h1, runs the HA
service, pulls h1's power, and watches every host's own libvirtd. The lab's Ceph reports a dead
OSD after 8 s (osd_heartbeat_grace); on HCI a host is lost only once its OSDs are down too.
Tears the lab down at the end. Run: .venv/bin/python bench/failover.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from mvm_tui import lab
from mvm_tui.config import SELF_FENCE_MARGIN, Config, Timers, load_config
from mvm_tui.ha_cli import build_ha_service
from mvm_tui.lab import truth
from mvm_tui.lab.cfgfile import SELF_FENCE_AFTER
from mvm_tui.models import Placement
from mvm_tui.session import open_session

VMS = {"fo-auto": ("rbd", Placement.AUTO), "fo-failover": ("nodisk", Placement.FAILOVER)}


async def wait(condition: object, timeout: float, what: str) -> float:
    """Seconds until the async condition holds (polled every 0.2 s)."""
    started = time.monotonic()
    while not await condition():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def one_loss(info: lab.LabInfo, config: Config, label: str, tmp: Path) -> None:
    session = open_session(config, demo=False, db_path=tmp / f"{label}.sqlite3")
    cluster = session.clusters[0]
    backend = cluster.backend
    for vm, (_, placement) in VMS.items():
        await backend.set_placement(vm, placement, "h1" if placement is not Placement.AUTO
                                    else None)
    service = build_ha_service(session, cluster, tmp)
    timeline: list[tuple[float, str]] = []
    service.subscribe(lambda d: timeline.append((time.monotonic(), d.line(d.time))))
    service.start()
    try:
        async def kept() -> bool:
            return all(backend.kept.get(vm) for vm in VMS)  # type: ignore[attr-defined]

        await wait(kept, 60, "the HA checks to see every VM")
        t = config.timers
        lab.power_off("h1")
        off = time.monotonic()

        async def elsewhere() -> bool:
            where = await truth.running(info)
            return all(where.get(vm, set()) & {"h2", "h3"} for vm in VMS)

        try:
            took = await wait(elsewhere, 300, "the failover VMs running elsewhere")
        finally:
            lab.restore("h1")
        restored = time.monotonic()

        async def home() -> bool:
            where = await truth.running(info)
            return all(where.get(vm) == {"h1"} for vm in VMS)

        await wait(home, 300, "the VMs back on h1")
        back = time.monotonic() - restored
        print(f"{label:<8} check every {t.ha_check_interval:g} s (timeout "
              f"{t.check_timeout:g} s), grace {t.ha_grace_period:g} s: every failover VM "
              f"running again {took:.1f} s after the power-off; failback {back:.1f} s after "
              "h1 was back", flush=True)
        for at, line in timeline:
            if at >= off:
                print(f"  {at - off:6.1f} s  {line.split(' ', 1)[1]}", flush=True)
    finally:
        await service.stop()
        await session.close()


async def bench() -> None:
    lab.down()
    info = lab.up()
    try:
        for vm, (kind, _) in VMS.items():
            lab.define_guest("h1", vm, kind)
        base = load_config(info.config_path)
        shortest = SELF_FENCE_AFTER + SELF_FENCE_MARGIN
        timers = {
            "default": Timers(),
            "shortest": Timers(ha_check_interval=1.0, ha_check_timeout=0.8,
                               ha_grace_period=shortest),
        }
        print(f"lab: 3 hosts, self_fence_after {SELF_FENCE_AFTER:g} s; an auto VM (RBD disk) "
              "and a failover VM on h1; h1 powered off", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for label, t in timers.items():
                await one_loss(info, base.model_copy(update={"timers": t}), label, Path(tmp))
    finally:
        lab.down()


if __name__ == "__main__":
    asyncio.run(bench())
