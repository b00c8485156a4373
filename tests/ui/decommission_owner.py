"""A process that owns a run: run as `python -m tests.ui.decommission_owner DB`, it starts a
simulated decommission of hv3 in the run store DB and executes it on a clock that never
moves, so it stays in the middle of the run (waiting for data to move) until it is killed.
It prints `WAITING <run id>` once it is there and has logged what it waits for (then it
writes nothing more)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mvm_tui.clock import VirtualClock
from mvm_tui.config import demo_config
from mvm_tui.runs import LogAppended, RunEvent
from mvm_tui.services.decommission_runs import decommissions_for
from mvm_tui.session import open_session

HOST = "hv3"


async def main(db: Path) -> None:
    session = open_session(demo_config(), True, clock=VirtualClock(), db_path=db)
    cluster = session.clusters[0]
    decom = decommissions_for(session, cluster, None)
    assert decom is not None
    await cluster.backend.set_maintenance(HOST, True)
    run = decom.create(await decom.plan(HOST, in_maintenance=True))

    def waiting(event: RunEvent) -> None:  # once it has said what it waits for: quiet
        if isinstance(event, LogAppended) and event.line.text.startswith("waiting: "):
            print(f"WAITING {run.id}", flush=True)

    session.executor.subscribe(waiting)
    await session.executor.execute(run.id)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
