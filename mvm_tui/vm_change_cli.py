"""`mvm-tui vm show|set|disk-add|disk-grow|disk-remove|nic-add|nic-remove|restore NAME`: a
VM seen, changed and restored headless (issue 17). A change is a Run, in History like one
from the TUI: its steps and commands are printed first (what is done live, what waits for a
restart), then its log as it runs; `--dry-run` stops after the plan."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, TextIO

from mvm_tui.backends.base import BackendError
from mvm_tui.config import Config
from mvm_tui.core.vm_change import VmShape
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


async def run_vm_change(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                        name: str, request: Mapping[str, Any], dry_run: bool,
                        out: TextIO | None = None) -> int:
    out = out or sys.stdout
    command = f"vm {({'resize': 'set'}).get(request['kind'], request['kind'])}"
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        params = await c.change_params(c.vm(name), request)
        print(f"{params['vm']} in cluster {c.name}, on {params['host']}", file=out)
        for line in params.get("says", ()):
            print(f"  {line}", file=out)
        return await plan_then_run(session, command, c.change_preview(params),
                                   lambda: c.create_change_run(params), dry_run, out)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui {command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()


async def run_vm_restore(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                         name: str, host: str | None, start: bool, dry_run: bool,
                         out: TextIO | None = None) -> int:
    out = out or sys.stdout
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        params = await c.restore_params(name, host, start)
        print(f"Restore {name} in cluster {c.name} (uuid {params['uuid']}), on "
              f"{params['host']}", file=out)
        return await plan_then_run(session, "vm restore", c.restore_preview(params),
                                   lambda: c.create_restore_run(params), dry_run, out)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui vm restore: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()
