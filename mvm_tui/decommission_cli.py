"""`mvm-tui decommission HOST --config PATH [--dry-run]`: the plan with every command, or the
whole run headless with its log on stdout. An unfinished decommission of the host (the app or
this command was killed) is resumed: every step re-checks the cluster first."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from mvm_tui.backends.base import BackendError
from mvm_tui.config import ConfigError
from mvm_tui.core.decommission import DecommissionPlan
from mvm_tui.models import HostState
from mvm_tui.run_cli import execute_printing
from mvm_tui.services.decommission_runs import Decommissions, host_remover
from mvm_tui.session import SessionError, load, open_session, poll_once
from mvm_tui.units import count

EXIT_NOT_RECORDED = 74  # EX_IOERR: the run store cannot be used, so nothing is done


def print_plan(plan: DecommissionPlan, decom: Decommissions, out: TextIO) -> None:
    print(f"Decommission {plan.host} (CRUSH host {plan.bucket}, {plan.address})", file=out)
    print(f"  maintenance: {'yes' if plan.in_maintenance else 'NO (enter it first)'}", file=out)
    for o in plan.osds:
        print(f"  osd.{o.id}: {o.size_gb:g} GB, {o.used_gb:g} GB used, {count(o.pgs, 'PG')}, "
              f"{'up' if o.up else 'down'}, {'in' if o.in_ else 'out'}", file=out)
    print(f"  monitor: {plan.mon or 'none'}", file=out)
    for c in plan.checks:
        print(f"  [{'ok' if c.ok else 'NO'}] {c.what}: {c.detail}", file=out)
    for w in plan.warnings:
        print(f"  [warning] {w}", file=out)
    print("steps:", file=out)
    for i, step in enumerate(decom.preview(plan), 1):
        print(f"  {i:2}. {step.title}", file=out)
        for line in step.preview:
            print(f"        $ {line}", file=out)


async def run_decommission(host: str, config_path: Path | None, *, demo: bool = False,
                           dry_run: bool = False, out: TextIO | None = None,
                           db_path: Path | None = None, **timing: Any) -> int:
    out = out or sys.stdout
    try:
        session = open_session(load(config_path, demo), demo, db_path=db_path)
    except (ConfigError, SessionError) as exc:
        print(f"mvm-tui decommission: {exc}", file=sys.stderr)
        return 2
    if session.store_damage is not None:
        print(f"mvm-tui decommission: {session.store_damage}", file=sys.stderr)
        if not dry_run:  # a decommission that could not be recorded could not be resumed
            await session.close()
            return EXIT_NOT_RECORDED
    try:
        cluster = next((c for c in session.clusters
                        if any(h.name == host for h in c.backend.hosts)), None)
        if cluster is None:
            print(f"mvm-tui decommission: no host {host} in the config", file=sys.stderr)
            return 2
        forget, known = host_remover(cluster.name, None if demo else config_path)
        decom = Decommissions(cluster.backend, session.clock, session.executor, forget, known,
                              **timing)
        unfinished = [r for r in decom.unfinished() if r.params.get("host") == host]
        if unfinished and not dry_run:
            run_id = unfinished[0].id
            if session.executor.owned_elsewhere(unfinished[0]) is None:
                print(f"resuming run #{run_id}: every step re-checks the cluster first",
                      file=out)
        else:
            await poll_once(cluster)
            state = next(h.state for h in cluster.snapshot().hosts if h.name == host)
            plan = await decom.plan(host, state is HostState.MAINTENANCE)
            print_plan(plan, decom, out)
            if dry_run:
                return 0
            if plan.blockers:
                print("not started: " + "; ".join(plan.blockers), file=out)
                return 1
            run_id = decom.create(plan).id
        return await execute_printing(session, run_id, out)
    except BackendError as exc:
        print(f"mvm-tui decommission: {exc}", file=sys.stderr)
        return 1
    finally:
        await session.close()
