"""Provisioning on the real lab: how long creating a cluster takes on bare hosts (sshd only),
step by step, and how long a second run takes (every step checked, nothing changed).

Builds fresh bare labs (root): 3 hosts for an HCI cluster (bluestore OSDs on the lab's loop
devices), then 2 hosts and the lab's iSCSI target for an external-storage cluster. Packages are
already on the shared machine (install_packages = false): apt is not in these figures. Tears
the lab down at the end. Run: .venv/bin/python bench/provision.py
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
from pathlib import Path

from mvm_tui import lab
from mvm_tui.cluster_cli import create_cluster
from mvm_tui.lab import san
from mvm_tui.lab.cfgfile import new_cluster_file
from mvm_tui.runs import RunStore


def cluster_file(info: lab.LabInfo, path: Path, hci: bool) -> Path:
    if hci:
        return new_cluster_file(info, path, "bench", "hci")
    return new_cluster_file(info, path, "bench", "external",
                            datastore={"iscsi_portal": san.ADDRESS, "iscsi_target": san.IQN})


def step_times(db: Path, after: int) -> list[tuple[str, str, float]]:
    """(run, step, seconds) of every step of the runs after run `after`."""
    store = RunStore(db)
    try:
        out = []
        for run in reversed(store.list_runs()):
            if run.id <= after:
                continue
            for s in store.steps(run.id):
                took = (s.ended - s.started) if s.started and s.ended else 0.0
                out.append((run.title, s.title, took))
        return out
    finally:
        store.close()


async def one(label: str, hci: bool, hosts: int, tmp: Path) -> None:
    lab.down()
    info = lab.up(hosts=hosts, bare=True, san=not hci)
    source, config, db = (cluster_file(info, tmp / f"{label}.toml", hci),
                          tmp / f"{label}-config.toml", tmp / f"{label}.sqlite3")
    last = 0
    for attempt in ("first run", "second run"):
        out = io.StringIO()
        started = time.monotonic()
        code = await create_cluster(source, config, out=out, db_path=db)
        took = time.monotonic() - started
        if code != 0:
            raise SystemExit(f"{label} {attempt} failed:\n{out.getvalue()[-3000:]}")
        print(f"\n{label}, {attempt}: {took:.1f} s in all (preflight included)")
        steps = step_times(db, last)
        for run, step, seconds in steps:
            print(f"  {seconds:6.1f} s  {run}: {step}")
        store = RunStore(db)
        last = max(r.id for r in store.list_runs())
        store.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            await one("HCI, 3 hosts", True, 3, Path(tmp))
            await one("external iSCSI, 2 hosts", False, 2, Path(tmp))
        finally:
            lab.down()


if __name__ == "__main__":
    asyncio.run(main())
