"""A headless command of the demo on a given run store, for tests of processes that share
one (each demo process otherwise has a store of its own): `python -m tests.ui.on_store DB
inventory` opens the store as `mvm-tui inventory --demo` does (recovering what dead processes
left) and polls once; `... DB decommission HOST` is `mvm-tui decommission HOST --demo`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mvm_tui.config import demo_config
from mvm_tui.decommission_cli import run_decommission
from mvm_tui.session import measure, open_session


async def inventory(db: Path) -> int:
    session = open_session(demo_config(), True, db_path=db)
    try:
        await measure(session.clusters[0], 0)
    finally:
        await session.close()
    return 0


def main(argv: list[str]) -> int:
    db, command, *rest = argv
    if command == "inventory":
        return asyncio.run(inventory(Path(db)))
    if command == "decommission":
        return asyncio.run(run_decommission(rest[0], None, demo=True, db_path=Path(db)))
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
