"""`mvm-tui vm create --from FILE [--dry-run]` and `mvm-tui image list|import`: workloads
headless (issue 17). A creation or an import is a Run, in History like one from the TUI: its
steps and every command are printed first, then its log as it runs; `--dry-run` stops after
the plan. A wrong value is named by its field and nothing is made."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from mvm_tui.backends.base import BackendError
from mvm_tui.config import Config, ConfigError, PlanConfig
from mvm_tui.config.io import load_toml
from mvm_tui.config.vm_file import VmFile
from mvm_tui.core.new_vm import NewVm
from mvm_tui.run_cli import execute_printing, print_steps
from mvm_tui.runs import RunRecord, Step
from mvm_tui.services.cluster import Cluster
from mvm_tui.services.workloads.create import RequestRefused
from mvm_tui.services.workloads.images import (
    import_params,
    local_file,
    rename_params,
    upload_path,
)
from mvm_tui.session import Prompts, Session, measure, open_session
from mvm_tui.units import count

EXIT_REFUSED = 2
EXIT_NOT_RECORDED = 74  # EX_IOERR: the run store cannot be used, so nothing is done


class Refused(Exception):
    """What the operator asked for cannot be done; the message says why."""


def new_vm(vm: VmFile, plans: Mapping[str, PlanConfig]) -> NewVm:
    """The request a VM file makes, its plan's size applied; Refused naming what is wrong."""
    try:
        return vm.request(plans)
    except ValueError as exc:
        raise Refused(str(exc)) from None


def pick_cluster(session: Session, name: str | None) -> Cluster:
    clusters = [c for c in session.clusters if name in (None, c.name)]
    if name is None and len(clusters) > 1:
        raise Refused("cluster: the config has several: say which (" +
                      ", ".join(c.name for c in clusters) + ")")
    if not clusters:
        raise Refused(f"cluster: no cluster named {name!r} in the config")
    return clusters[0]


async def plan_then_run(session: Session, command: str, steps: Sequence[Step],
                         create: Callable[[], RunRecord], dry_run: bool, out: TextIO,
                         refused: str = "") -> int:
    """The run's steps and commands; then, unless a dry run (or `refused` says why not), the
    run, recorded in History, its log printed as it goes."""
    print_steps(steps, out)
    if dry_run:
        return 0
    if refused:
        raise Refused(refused)
    if session.store_damage is not None:
        print(f"mvm-tui {command}: {session.store_damage}", file=sys.stderr)
        return EXIT_NOT_RECORDED
    return await execute_printing(session, create().id, out)


async def run_vm_create(path: Path, config: Config, demo: bool, prompts: Prompts,
                        dry_run: bool, out: TextIO = sys.stdout) -> int:
    session = open_session(config, demo, prompts=prompts)
    try:
        vm = load_toml(path, VmFile)
        req = new_vm(vm, session.config.plans)
        cluster = pick_cluster(session, vm.cluster)
        await measure(cluster, 0)
        params = await cluster.new_vm_params(req)
        print(f"Create {req.name} in cluster {cluster.name}, on {params['host']}"
              + (" (the placement engine's choice)" if req.host is None else ""), file=out)
        return await plan_then_run(session, "vm create", cluster.create_vm_preview(params),
                                    lambda: cluster.create_vm_run(params), dry_run, out)
    except RequestRefused as exc:
        print("mvm-tui vm create: the VM is not made:", file=sys.stderr)
        for field, why in exc.problems.items():
            print(f"  {field}: {why}", file=sys.stderr)
        return EXIT_REFUSED
    except (ConfigError, Refused, BackendError) as exc:
        print(f"mvm-tui vm create: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()


async def run_image_list(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                         as_json: bool, out: TextIO = sys.stdout) -> int:
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        workloads = c.backend.workloads()
        if workloads is None:
            raise Refused(f"cluster {c.name} has no image library (HCI clusters only for now)")
        images = await workloads.images()
    except (Refused, BackendError) as exc:
        print(f"mvm-tui image list: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()
    rows: list[dict[str, Any]] = [
        {"name": i.name, "os": i.os, "size_bytes": i.size_bytes, "vm_disks": list(i.disks),
         "ready": i.ready} for i in images]
    if as_json:
        json.dump({"cluster": c.name, "images": rows}, out, indent=2)
        out.write("\n")
        return 0
    for i in images:
        state = "" if i.ready else "  (import not finished: import it again)"
        print(f"{i.name:24} {i.os or '-':20} {i.size_bytes / 2**30:8.1f} GiB  "
              f"{count(len(i.disks), 'VM disk')}{state}", file=out)
    if not images:
        print(f"the library of {c.name} is empty: `mvm-tui image import` adds one", file=out)
    return 0


async def run_image_import(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                           source: str, image: str, os: str, dry_run: bool,
                           via: str | None = None, out: TextIO = sys.stdout) -> int:
    """`source`: HOST:PATH, or a file of this jump box (copied to `via`, default the first
    host, then imported there)."""
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        hosts = [h.name for h in c.backend.hosts]
        host, sep, path = source.partition(":")
        local = await asyncio.to_thread(local_file, source)
        if sep and host in hosts:
            params = import_params(host, path, image, os)
        elif local is not None:
            target = via or hosts[0]
            if target not in hosts:
                raise Refused(f"host: {target!r} is not a host of {c.name}")
            params = import_params(target, upload_path(image), image, os, *local)
        else:
            raise Refused(f"source: {source!r} is neither HOST:PATH with a host of {c.name} "
                          "nor a file on this machine")
        return await plan_then_run(session, "image import", c.import_preview(params),
                                   lambda: c.create_import_run(params), dry_run, out)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui image import: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()


async def run_vm_delete(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                        name: str, confirm: str | None, keep_days: int, dry_run: bool,
                        out: TextIO = sys.stdout) -> int:
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        await measure(c, 0)
        params = c.delete_params(c.vm(name), keep_days)
        print(f"Delete {name} in cluster {c.name} (uuid {params['uuid']}, on "
              f"{params['host'] or 'no host'})", file=out)
        return await plan_then_run(
            session, "vm delete", c.delete_preview(params), lambda: c.create_delete_run(params),
            dry_run, out, refused="" if confirm == name else
            f"not deleted: repeat its name with --confirm {name} to delete it")
    except (Refused, BackendError) as exc:
        print(f"mvm-tui vm delete: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()


async def run_image_change(config: Config, demo: bool, prompts: Prompts, cluster: str | None,
                           kind: str, image: str, new: str, confirm: str | None,
                           dry_run: bool, out: TextIO | None = None) -> int:
    """`image rename NAME NEW` or `image remove NAME --confirm NAME`."""
    out = out or sys.stdout
    session = open_session(config, demo, prompts=prompts)
    try:
        c = pick_cluster(session, cluster)
        w = c.backend.workloads()
        if w is None:
            raise Refused(f"cluster {c.name} has no image library (HCI clusters only for now)")
        if image not in {i.name for i in await w.images()}:
            raise Refused(f"the library of {c.name} has no image named {image!r}")
        refused = ""
        if kind == "rename":
            params = rename_params(image, new)
        else:
            params = {"image": image}
            users = await w.image_users(image)
            if users:
                raise Refused(f"{image} is not removed: VM disks are cloned from it "
                              f"({', '.join(users)})")
            if confirm != image:
                refused = f"not removed: repeat its name with --confirm {image} to remove it"
        return await plan_then_run(session, f"image {kind}", c.image_preview(kind, params),
                                   lambda: c.create_image_run(kind, params), dry_run, out,
                                   refused)
    except (Refused, ValueError, BackendError) as exc:
        print(f"mvm-tui image {kind}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await session.close()
