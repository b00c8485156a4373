"""`mvm-tui vm show|set|disk-add|disk-grow|disk-remove|nic-add|nic-remove|restore NAME`: a
VM seen, changed and restored headless (issue 17). A change is a Run, in History like one
from the TUI: its steps and commands are printed first (what is done live, what waits for a
restart), then its log as it runs; `--dry-run` stops after the plan."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import Any, TextIO

from mvm_tui.backends.base import BackendError
from mvm_tui.config import Config
from mvm_tui.core.vm_change import VmShape
from mvm_tui.runs import RunRecord, Step
from mvm_tui.services.cluster import Cluster
from mvm_tui.session import Prompts, measure, open_session
from mvm_tui.units import count
from mvm_tui.vm_cli import EXIT_REFUSED, Refused, pick_cluster, plan_then_run


def show_text(name: str, host: str, shape: VmShape) -> str:
    lines = [f"{name} on {host}, {'running' if shape.running else 'stopped'}",
             f"  vCPUs   {shape.vcpus} (most {shape.max_vcpus} live)",
             f"  memory  {shape.memory_mb} MiB (most {shape.max_memory_mb} MiB live, "
             f"{count(shape.free_slots, 'memory slot')} free)"]
    if shape.pending:
        lines.append(f"  {shape.pending}")
    lines += [f"  disk    {d.target}  {d.image or '(not in the pool)'}"
              + ("  cdrom" if d.cdrom else "") for d in shape.disks]
    lines += [f"  NIC     {n.mac}  VLAN {n.vlan if n.vlan is not None else '-'}"
              for n in shape.nics]
    return "\n".join(lines)


async def run_vm_show(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                      name: str, as_json: bool, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # (now: a test may have replaced it)
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        vm = c.vm(name)
        w = c.backend.workloads()
        if w is None or vm.host is None:
            raise Refused(f"{name} cannot be changed here (HCI clusters only, on a host)")
        shape = await w.shape(vm.host, name)
    except (Refused, BackendError) as exc:
        print(f"mvm-tui vm show: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()
    if as_json:
        json.dump({"vm": name, "host": vm.host, **asdict(shape), "pending": shape.pending},
                  out, indent=2)
        out.write("\n")
    else:
        print(show_text(name, vm.host, shape), file=out)
    return 0


Planner = Callable[[Cluster], Awaitable[tuple[str, list[Step], Callable[[], RunRecord]]]]


async def run_planned(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                      command: str, plan: Planner, dry_run: bool,
                      out: TextIO | None = None) -> int:
    """What `plan` says of the cluster (a header, the steps, how to make the run); then,
    unless a dry run, the run. A refusal goes to stderr, with nothing done."""
    out = out or sys.stdout  # (now: a test may have replaced it)
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        header, steps, create = await plan(c)
        print(header, file=out)
        return await plan_then_run(session, command, steps, create, dry_run, out)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui {command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()


def change(name: str, request: Mapping[str, Any]) -> Planner:
    async def plan(c: Cluster) -> tuple[str, list[Step], Callable[[], RunRecord]]:
        params = await c.change_params(c.vm(name), request)
        header = "\n".join([f"{name} in cluster {c.name}, on {params['host']}",
                            *(f"  {line}" for line in params.get("says", ()))])
        return header, c.change_preview(params), lambda: c.create_change_run(params)
    return plan


def restore(name: str, host: str | None, start: bool) -> Planner:
    async def plan(c: Cluster) -> tuple[str, list[Step], Callable[[], RunRecord]]:
        params = await c.restore_params(name, host, start)
        return (f"Restore {name} in cluster {c.name} (uuid {params['uuid']}), on "
                f"{params['host']}", c.restore_preview(params),
                lambda: c.create_restore_run(params))
    return plan


def clone(name: str, new: str, options: Mapping[str, Any]) -> Planner:
    async def plan(c: Cluster) -> tuple[str, list[Step], Callable[[], RunRecord]]:
        params = await c.clone_params(c.vm(name), new, **options)
        at = f" as it was at {params['snapshot']}" if params.get("snapshot") else ""
        return (f"Clone {name}{at} as {new} in cluster {c.name}, on {params['host']}",
                c.clone_preview(params), lambda: c.create_clone_run(params))
    return plan


def rename(name: str, new: str) -> Planner:
    async def plan(c: Cluster) -> tuple[str, list[Step], Callable[[], RunRecord]]:
        params = await c.rename_params(c.vm(name), new)
        return (f"Rename {name} to {new} in cluster {c.name}, on {params['host']}",
                c.rename_preview(params), lambda: c.create_rename_run(params))
    return plan
