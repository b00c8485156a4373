"""The `plans`, `vm` and `image` subcommands of `mvm-tui`: their arguments, and running them
(what they need is imported only when they run, so `--help` stays light)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mvm_tui.config import Config

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_workloads(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    vm = sub.add_parser("vm", help="make or delete a VM headless (see `vm create`)")
    vm_sub = vm.add_subparsers(dest="vm_command", metavar="ACTION", required=True)
    create = vm_sub.add_parser(
        "create", parents=[common],
        help="make a VM from a library image, as a VM file says",
        description="Check the VM file against the cluster (each wrong value named), print "
        "the run's steps with the domain XML and every command, then run it with its log on "
        "stdout (a Run in History). The file: `name`, `plan` or `vcpus`/`memory_mb`/`disk_gb`, "
        "`image`, `volumes_gb`, `vlans`, `host`, `placement`, `headroom`, `start`, "
        "`allow_reserve_break`, and a [cloud_init] table (`user`, `ssh_keys`, `address`, "
        "`gateway`, `dns`, `user_data_file`); the README shows one.")
    create.add_argument("--from", dest="source", metavar="FILE", type=Path, required=True,
                        help="the VM file (TOML)")
    create.add_argument("--dry-run", action="store_true",
                        help="print the plan and every command; change nothing")
    delete = vm_sub.add_parser(
        "delete", parents=[common],
        help="delete a VM: its disks go to the trash, restorable until an expiry",
        description="Mark the VM deleted (HA never restarts it), power it off, remove its "
        "definition from every host and move its disks to the pool's trash. A Run in "
        "History; its steps and commands are printed first.")
    delete.add_argument("name", metavar="NAME", help="the VM")
    delete.add_argument("--confirm", metavar="NAME",
                        help="the VM's name again: nothing is deleted without it")
    delete.add_argument("--keep-days", type=int, default=7, metavar="DAYS",
                        help="how long its disks stay restorable in the trash (default 7)")
    delete.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
    delete.add_argument("--dry-run", action="store_true",
                        help="print the plan and every command; change nothing")
    image = sub.add_parser("image", help="the cluster's image library (see `image list`)")
    image_sub = image.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    listing = image_sub.add_parser("list", parents=[common],
                                   help="the library's images: OS, size, VM disks cloned")
    listing.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    imp = image_sub.add_parser(
        "import", parents=[common],
        help="a cloud image (qcow2 or raw) on a host into the library",
        description="Write the file as a raw RBD image of the cluster's pool (qemu-img), with "
        "the protected snapshot VM disks are cloned from (copy-on-write). A Run in History.")
    imp.add_argument("source", metavar="HOST:PATH", help="the file, on one of the hosts")
    imp.add_argument("name", metavar="NAME", help="the image's name in the library")
    imp.add_argument("--os", default="", help="its OS, as shown in the list (\"Debian 12\")")
    imp.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
    imp.add_argument("--dry-run", action="store_true",
                     help="print the commands; change nothing")


async def run_workloads(args: argparse.Namespace, config: Config) -> int:
    from mvm_tui import vm_cli
    from mvm_tui.session import Prompts

    prompts = Prompts()
    if args.command == "plans":
        from mvm_tui.plans_cli import run_plans

        return await run_plans(config, args.demo, prompts, args.cluster, args.size, args.json)
    if args.command == "vm" and args.vm_command == "delete":
        code = await vm_cli.run_vm_delete(config, args.demo, prompts, args.cluster, args.name,
                                          args.confirm, args.keep_days, args.dry_run)
    elif args.command == "vm":
        code = await vm_cli.run_vm_create(args.source, config, args.demo, prompts, args.dry_run)
    elif args.image_command == "list":
        code = await vm_cli.run_image_list(config, args.demo, prompts, args.cluster, args.json)
    else:
        code = await vm_cli.run_image_import(config, args.demo, prompts, args.cluster,
                                             args.source, args.name, args.os, args.dry_run)
    return code or prompts.report()
