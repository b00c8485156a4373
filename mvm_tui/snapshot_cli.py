"""`mvm-tui vm snapshot VM [NAME]`, `vm snapshots VM`, `vm revert VM NAME --confirm VM`,
`vm snapshot-delete VM NAME` and `vm group-snapshot NAME VM VM...`: snapshots of VMs headless
(issue 19). Each action is a Run, in History like one from the TUI: its steps and every
command are printed first, then its log as it runs; `--dry-run` stops after the plan. A revert
(what was written since is lost) needs the VM's name repeated."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from mvm_tui.backends.base import BackendError
from mvm_tui.backends.capabilities import CONSISTENCY, VmSnapshot
from mvm_tui.config import Config
from mvm_tui.services.workloads.snapshots import Action, default_name
from mvm_tui.session import Prompts, measure, open_session
from mvm_tui.units import size_bytes
from mvm_tui.vm_cli import EXIT_REFUSED, Refused, pick_cluster, plan_then_run

COMMANDS: dict[str, Action] = {"snapshot": "take", "revert": "revert",
                               "snapshot-delete": "delete"}


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def listing(snaps: list[VmSnapshot]) -> list[str]:
    return [f"{s.name:24} {when(s.taken)}  {size_bytes(s.size_bytes):>10}  "
            f"{CONSISTENCY.get(s.consistency, s.consistency or 'consistency not known')}"
            + ("" if s.complete else f"  (only on {', '.join(s.disks)})") for s in snaps]


async def run_snapshots(args: argparse.Namespace, config: Config, prompts: Prompts) -> int:
    """`vm snapshots` or an action (`vm snapshot`, `vm revert`, `vm snapshot-delete`)."""
    if args.vm_command == "snapshots":
        return await run_list(config, args.demo, prompts, args.cluster, args.name, args.json)
    if args.vm_command == "group-snapshot":
        return await run_group(config, args.demo, prompts, args.cluster, args.snapshot,
                               args.vms, args.dry_run)
    return await run_action(config, args.demo, prompts, args.cluster,
                            COMMANDS[args.vm_command], args.name, args.snapshot,
                            getattr(args, "confirm", None), args.dry_run)


async def run_list(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                   name: str, as_json: bool, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # (now: a test may have replaced it)
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        snaps = await c.snapshots.of(c.vm(name))
    except (Refused, BackendError) as exc:
        print(f"mvm-tui vm snapshots: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()
    if as_json:
        rows: list[dict[str, Any]] = [
            {"name": s.name, "taken": s.taken, "size_bytes": s.size_bytes,
             "consistency": s.consistency, "disks": list(s.disks), "complete": s.complete}
            for s in snaps]
        json.dump({"cluster": c.name, "vm": name, "snapshots": rows}, out, indent=2)
        out.write("\n")
        return 0
    for line in listing(snaps):
        print(line, file=out)
    if not snaps:
        print(f"{name} has no snapshot: `mvm-tui vm snapshot {name}` takes one", file=out)
    return 0


async def run_action(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                     action: Action, name: str, snapshot: str | None, confirm: str | None,
                     dry_run: bool, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    command = "vm " + next(k for k, v in COMMANDS.items() if v == action)
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        snap = snapshot or default_name(c.clock.now())
        params = await c.snapshots.params(action, c.vm(name), snap)
        where = f"in cluster {c.name}, on {params['host']}"
        if action == "take":
            header = (f"Snapshot {name} as {snap} {where}: " +
                      ("it runs: its filesystems are frozen through its guest agent meanwhile "
                       "(crash-consistent without one)" if params["running"] else "shut off"))
        elif action == "revert":
            header = (f"Revert {name} to {snap} {where}: everything written to its disks "
                      "since that snapshot is lost")
        else:
            header = f"Delete the snapshot {snap} of {name} {where}"
        print(header, file=out)
        refused = "" if action != "revert" or confirm == name else \
            f"not reverted: repeat the VM's name with --confirm {name} to revert it"
        return await plan_then_run(session, command, c.snapshots.preview(action, params),
                                   lambda: c.snapshots.create_run(action, params), dry_run,
                                   out, refused)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui {command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()


async def run_group(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                    snapshot: str, vms: list[str], dry_run: bool,
                    out: TextIO | None = None) -> int:
    out = out or sys.stdout
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        params = await c.snapshots.group_params([c.vm(v) for v in vms], snapshot)
        print(f"Snapshot {', '.join(vms)} as {snapshot} at one instant, in cluster {c.name}",
              file=out)
        return await plan_then_run(session, "vm group-snapshot",
                                   c.snapshots.group_preview(params),
                                   lambda: c.snapshots.create_group_run(params), dry_run, out)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui vm group-snapshot: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()
