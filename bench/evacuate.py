"""Evacuating a real lab host (maintenance) with 1, 2 and 4 live migrations at once.

Builds a fresh lab (root), defines N tiny guests on h1, then for each limit: enters
maintenance of h1 (every guest live-migrates to h2 / h3), times it, and leaves maintenance
(the guests come back). Prints the time per limit. Tears the lab down at the end.
Run: .venv/bin/python bench/evacuate.py [--vms 6]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from mvm_tui import lab
from mvm_tui.config import load_config
from mvm_tui.core.maintenance import MigrationLimits
from mvm_tui.runs import RunState
from mvm_tui.services.maintenance import MaintenanceRuns
from mvm_tui.session import open_session, poll_once


async def bench(vms: int) -> None:
    lab.down()
    info = lab.up()
    for i in range(1, vms + 1):
        lab.define_guest("h1", f"ev-{i}", "nodisk")
    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(load_config(info.config_path), demo=False,
                               db_path=Path(tmp) / "runs.sqlite3")
        cluster = session.clusters[0]
        try:
            await poll_once(cluster)
            print(f"lab: {vms} guests of 64 MiB on h1, live-migrated to h2 and h3")
            for limit in (1, 2, 4):
                runs = MaintenanceRuns(
                    session.executor, f"bench{limit}:", cluster.backend, session.clock,
                    cluster.snapshot, migration_limits=MigrationLimits(limit, limit),
                    vm_changed=cluster.poller.update_vm)
                await poll_once(cluster)
                plan = runs.plan_enter("h1")
                run = runs.create_enter_run(plan)
                t0 = time.perf_counter()
                done = await session.executor.execute(run.id)
                took = time.perf_counter() - t0
                assert done.state is RunState.DONE, done.error
                print(f"  {len(plan.moves)} VMs, at most {limit} at once: {took:.1f} s "
                      f"({took / len(plan.moves):.2f} s per VM)")
                await poll_once(cluster)
                back = runs.create_leave_run("h1", runs.plan_leave("h1"))
                assert (await session.executor.execute(back.id)).state is RunState.DONE
        finally:
            await session.close()
    lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms", type=int, default=6)
    asyncio.run(bench(parser.parse_args().vms))


if __name__ == "__main__":
    main()
