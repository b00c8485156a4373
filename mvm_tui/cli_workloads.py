"""The `plans`, `vm`, `image`, `console` and `shell` subcommands of `mvm-tui`: their
arguments, and running them (what they need is imported only when they run, so `--help` stays
light)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mvm_tui.config import Config
    from mvm_tui.session import Prompts

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


SNAPSHOTS = ("snapshots", "snapshot", "revert", "snapshot-delete", "group-snapshot")


def add_workloads(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    vm = sub.add_parser("vm", help="make, change, snapshot or delete a VM headless (see "
                        "`vm create`)")
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
    _add_changes(vm_sub, common)
    _add_snapshots(vm_sub, common)
    image = sub.add_parser("image", help="the cluster's image library (see `image list`)")
    image_sub = image.add_subparsers(dest="image_command", metavar="ACTION", required=True)
    listing = image_sub.add_parser("list", parents=[common],
                                   help="the library's images: OS, size, VM disks cloned")
    listing.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    imp = image_sub.add_parser(
        "import", parents=[common],
        help="a cloud image (qcow2 or raw), on a host or this machine, into the library",
        description="Write the file as a raw RBD image of the cluster's pool (qemu-img), with "
        "the protected snapshot VM disks are cloned from (copy-on-write). A Run in History.")
    rename = image_sub.add_parser("rename", parents=[common], help="rename a library image "
                                  "(its clones follow)")
    rename.add_argument("name", metavar="NAME", help="the image")
    rename.add_argument("new", metavar="NEW", help="its new name")
    remove = image_sub.add_parser(
        "remove", parents=[common], help="remove a library image no VM disk is cloned from",
        description="Refused, naming them, while VM disks (in the pool or its trash) are "
        "cloned from it. A Run in History.")
    remove.add_argument("name", metavar="NAME", help="the image")
    remove.add_argument("--confirm", metavar="NAME", help="its name again: nothing is removed "
                        "without it")
    for p in (rename, remove):
        p.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
        p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    imp.add_argument("source", metavar="HOST:PATH|FILE",
                     help="the file, on one of the hosts or on this machine")
    imp.add_argument("--host", metavar="HOST", help="the host a file of this machine is "
                     "copied to and imported on (default: the first)")
    imp.add_argument("name", metavar="NAME", help="the image's name in the library")
    imp.add_argument("--os", default="", help="its OS, as shown in the list (\"Debian 12\")")
    imp.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
    imp.add_argument("--dry-run", action="store_true",
                     help="print the commands; change nothing")


def _add_changes(vm_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    def action(name: str, help_: str, description: str = "") -> argparse.ArgumentParser:
        p = vm_sub.add_parser(name, parents=[common], help=help_,
                              description=description or help_ + ". A Run in History; its "
                              "steps and every command are printed first.")
        p.add_argument("name", metavar="NAME", help="the VM")
        p.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
        if name != "show":
            p.add_argument("--dry-run", action="store_true",
                           help="print the plan and every command; change nothing")
        return p

    show = action("show", "a VM's size, maximums, pending restart, disks and NICs",
                  "What can be changed live: its vCPUs and memory now, their maximums, the "
                  "memory slots left, the size at its next boot, its disks and NICs.")
    show.add_argument("--json", action="store_true", help="print JSON")
    size = action("set", "change a VM's vCPUs and memory",
                  "Live within its maximums (vCPUs set, memory added as a module), else "
                  "written for its next boot and shown as pending restart: the plan says "
                  "which. A growth needs room on its host and keeps the failover reserve "
                  "unless --allow-reserve-break. A Run in History.")
    size.add_argument("--vcpus", type=int, metavar="N", help="vCPUs (default: as now)")
    size.add_argument("--memory", type=int, metavar="MIB", help="memory in MiB (default: as "
                      "now)")
    size.add_argument("--allow-reserve-break", action="store_true",
                      help="grow it even if VMs would be left without room after a host loss")
    action("disk-add", "add an empty disk (an RBD image), attached live").add_argument(
        "size_gb", metavar="GIB", type=int, help="its size")
    grow = action("disk-grow", "grow a disk; a running guest is told")
    grow.add_argument("disk", metavar="DISK", help="its target (vdb) or image")
    grow.add_argument("size_gb", metavar="GIB", type=int, help="its new size")
    remove = action("disk-remove", "detach a disk (confirmed by libvirt's device-removed "
                    "event) and move its image to the trash")
    remove.add_argument("disk", metavar="DISK", help="its target (vdb) or image")
    remove.add_argument("--keep-days", type=int, default=7, metavar="DAYS",
                        help="how long it stays restorable in the trash (default 7)")
    restore = action("restore", "bring a deleted VM back: its disks from the trash, its "
                     "definition as it was deleted")
    restore.add_argument("--host", metavar="HOST", help="where (default: the least full host "
                         "where it fits and the failover reserve holds)")
    restore.add_argument("--start", action="store_true", help="start it once defined")
    clone = action("clone", "copy a stopped VM (or any VM as its snapshot was) as a new one",
                   "Its disks deep-copied (clones of an image stay copy-on-write), as they are "
                   "or as they were at --snapshot, a seed of its own (the source's users and "
                   "keys, a new instance-id, its name, new MACs, DHCP or --address), defined "
                   "on a host with room. A Run in History.")
    clone.add_argument("--snapshot", metavar="SNAPSHOT", help="copy the disks as they were at "
                       "this snapshot (the source may run)")
    clone.add_argument("new", metavar="NEW", help="the clone's name")
    clone.add_argument("--host", metavar="HOST", help="where (default: the least full host "
                       "where it fits and the failover reserve holds)")
    clone.add_argument("--start", action="store_true", help="start it once defined")
    clone.add_argument("--address", metavar="CIDR", help="a static address (default: DHCP)")
    clone.add_argument("--gateway", default="", metavar="IP", help="with --address")
    clone.add_argument("--dns", default="", metavar="IP,IP", help="with --address: name "
                       "servers")
    action("rename", "rename a stopped VM (its disks too; its uuid, MACs and seed stay)"
           ).add_argument("new", metavar="NEW", help="its new name")
    action("nic-add", "add a NIC on a VLAN port group, live").add_argument(
        "vlan", metavar="VLAN", type=int, help="one of the cluster's compute VLANs")
    action("nic-remove", "detach a NIC, live").add_argument(
        "nic", metavar="NIC", help="its MAC, or its VLAN when it is the only NIC there")


def _add_snapshots(vm_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """`vm snapshots|snapshot|revert|snapshot-delete`: snapshot_cli.py."""
    listing = vm_sub.add_parser(
        "snapshots", parents=[common], help="a VM's snapshots: when, size, how consistent",
        description="The snapshots of the VM's RBD disks, oldest first: when each was taken, "
        "its disks' size then, how consistent (filesystems frozen by the guest agent, the VM "
        "shut off, or crash-consistent), and whether every disk has it.")
    listing.add_argument("--json", action="store_true", help="print JSON")
    take = vm_sub.add_parser(
        "snapshot", parents=[common], help="snapshot every disk of a VM at one instant",
        description="RBD snapshots of every disk of the VM at one instant; a running VM's "
        "filesystems are frozen through its guest agent meanwhile, thawed in every case "
        "(crash-consistent without an agent). A Run in History; its steps and every command "
        "are printed first.")
    revert = vm_sub.add_parser(
        "revert", parents=[common], help="roll a shut-off VM's disks back to a snapshot",
        description="Every disk of the VM back to how it was at the snapshot: what was "
        "written since is lost (its other snapshots stay). Refused while the VM runs. A Run "
        "in History; its steps and every command are printed first.")
    revert.add_argument("--confirm", metavar="NAME",
                        help="the VM's name again: nothing is rolled back without it")
    delete = vm_sub.add_parser(
        "snapshot-delete", parents=[common], help="delete a snapshot of a VM",
        description="Its RBD snapshot removed from every disk of the VM (the VM is not "
        "changed). A Run in History; its steps and every command are printed first.")
    for p in (listing, take, revert, delete):
        p.add_argument("name", metavar="VM", help="the VM")
        if p is take:
            p.add_argument("snapshot", metavar="SNAPSHOT", nargs="?",
                           help="its name (default: snap-YYYYMMDD-HHMMSS, in UTC)")
        elif p is not listing:
            p.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot's name")
        p.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
        if p is not listing:
            p.add_argument("--dry-run", action="store_true",
                           help="print the plan and every command; change nothing")
    group = vm_sub.add_parser(
        "group-snapshot", parents=[common], help="snapshot several VMs at one instant",
        description="One snapshot of the same name of every disk of every VM given, at one "
        "instant: each running VM's filesystems frozen through its guest agent (paused "
        "without one) on its host, then every disk's snapshot, then each thawed; should the "
        "thaw never come, each host thaws its VMs by itself. For an application that spans "
        "VMs. A Run in History; its steps and every command are printed first.")
    group.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot's name")
    group.add_argument("vms", metavar="VM", nargs="+", help="the VMs (two or more)")
    group.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
    group.add_argument("--dry-run", action="store_true",
                       help="print the plan and every command; change nothing")


def add_consoles(sub: Subcommands, common: argparse.ArgumentParser) -> None:
    """`console VM` and `shell HOST`: console_cli.py."""
    console = sub.add_parser(
        "console", parents=[common],
        help="a VM's serial console in this terminal (ctrl+] leaves; the VM keeps running)",
        description="Attach this terminal to the VM's serial console: what is typed goes to "
        "the VM as typed, until ctrl+]. Input from a pipe or a file goes too; once it ends, "
        "the output is printed until nothing more comes for --wait seconds. Exit status 3 "
        "when another client holds the console (nothing changes without --force).")
    console.add_argument("vm", metavar="VM", help="the VM (it must be running)")
    console.add_argument("--force", action="store_true",
                         help="take the console over from another client holding it (that "
                              "client is cut off)")
    shell = sub.add_parser(
        "shell", parents=[common],
        help="a login shell on a host in this terminal (ctrl+] leaves and closes it)",
        description="A login shell on the host, in a pty the size of this terminal, over SSH "
        "(its host key checked). Input from a pipe or a file goes too; once it ends, the "
        "output is printed until nothing more comes for --wait seconds.")
    shell.add_argument("host", metavar="HOST", help="the host's name in the config")
    for p in (console, shell):
        p.add_argument("--cluster", metavar="NAME", help="the cluster (default: the only one)")
        p.add_argument("--wait", type=_quiet_seconds, default=2.0, metavar="SECONDS",
                       help="when the input is not a terminal: once it ends, keep printing "
                            "the output until it has been quiet this long (default 2)")
        p.add_argument("--accept-new-host-keys", action="store_true",
                       help="trust a host key not in known_hosts yet (a changed key is always "
                            "refused)")


def _quiet_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def change_request(args: argparse.Namespace) -> dict[str, object]:
    """What `vm ACTION` asks, as services/workloads/change.py takes it."""
    action = args.vm_command
    if action == "set":
        return {"kind": "resize", "vcpus": args.vcpus, "memory_mb": args.memory,
                "allow_reserve_break": args.allow_reserve_break}
    keys = {"disk-add": ("size_gb",), "disk-grow": ("disk", "size_gb"),
            "disk-remove": ("disk", "keep_days"), "nic-add": ("vlan",), "nic-remove": ("nic",)}
    return {"kind": action, **{k: getattr(args, k) for k in keys[action]}}


async def _vm_change(args: argparse.Namespace, config: Config, prompts: Prompts) -> int:
    from mvm_tui import vm_change_cli as cli

    action = args.vm_command
    if action == "show":
        return await cli.run_vm_show(config, args.demo, prompts, args.cluster, args.name,
                                     args.json)
    if action == "restore":
        plan = cli.restore(args.name, args.host, args.start)
    elif action == "clone":
        plan = cli.clone(args.name, args.new, {
            "host": args.host, "start": args.start, "address": args.address,
            "gateway": args.gateway, "dns": tuple(d for d in args.dns.split(",") if d),
            "snapshot": args.snapshot})
    elif action == "rename":
        plan = cli.rename(args.name, args.new)
    else:
        plan = cli.change(args.name, change_request(args))
    return await cli.run_planned(config, args.demo, prompts, args.cluster, f"vm {action}",
                                 plan, args.dry_run)


async def run_workloads(args: argparse.Namespace, config: Config) -> int:
    from mvm_tui import vm_cli
    from mvm_tui.session import Prompts

    if args.command in ("console", "shell"):
        from mvm_tui.console_cli import run_attach_command

        return await run_attach_command(args, config)
    prompts = Prompts()
    if args.command == "plans":
        from mvm_tui.plans_cli import run_plans

        return await run_plans(config, args.demo, prompts, args.cluster, args.size, args.json)
    if args.command == "vm" and args.vm_command in SNAPSHOTS:
        from mvm_tui.snapshot_cli import run_snapshots

        code = await run_snapshots(args, config, prompts)
    elif args.command == "vm" and args.vm_command not in ("create", "delete"):
        code = await _vm_change(args, config, prompts)
    elif args.command == "vm" and args.vm_command == "delete":
        code = await vm_cli.run_vm_delete(config, args.demo, prompts, args.cluster, args.name,
                                          args.confirm, args.keep_days, args.dry_run)
    elif args.command == "vm":
        code = await vm_cli.run_vm_create(args.source, config, args.demo, prompts, args.dry_run)
    elif args.image_command in ("rename", "remove"):
        code = await vm_cli.run_image_change(
            config, args.demo, prompts, args.cluster, args.image_command, args.name,
            getattr(args, "new", ""), getattr(args, "confirm", None), args.dry_run)
    elif args.image_command == "list":
        code = await vm_cli.run_image_list(config, args.demo, prompts, args.cluster, args.json)
    else:
        code = await vm_cli.run_image_import(config, args.demo, prompts, args.cluster,
                                             args.source, args.name, args.os, args.dry_run,
                                             args.host)
    return code or prompts.report()
