"""The `mvm-tui` command: the TUI by default, and headless subcommands for scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvm_tui import crash, paths
from mvm_tui.cli_workloads import add_consoles, add_workloads, run_workloads
from mvm_tui.config_example import example_text

# What a command needs is imported when it runs: `--help` and the light commands load no
# pydantic, asyncssh, libvirt or Textual (bench/cli_start.py measures it).
if TYPE_CHECKING:
    from mvm_tui.config import Config
    from mvm_tui.core.plans import Size
    from mvm_tui.session import Prompts, Session

    _Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]  # add_subparsers()

EXIT_USAGE = 2

DESCRIPTION = """\
mvm-tui builds and runs a cluster of KVM hypervisor hosts from one terminal.
Without a subcommand it opens the interactive UI.
"""

EPILOG = f"""\
configuration:
  --config PATH, else {paths.default_config_path()}
  (`mvm-tui config example` prints an example, every key explained).
  Secrets are never stored in it.
run history:
  kept in {paths.state_dir()}

examples:
  mvm-tui --demo                    the UI on a built-in simulated 3-host cluster
  mvm-tui inventory --json --demo   the simulated cluster's hosts and VMs as JSON
  mvm-tui plans --demo              where a VM of each plan fits, the failover reserve kept
  mvm-tui ha --config PATH          the failover service, headless (systemd: contrib/)
  mvm-tui decommission HOST --config PATH --dry-run   the plan of a Ceph host's removal
  mvm-tui cluster create --from new.toml --config PATH   preflight, provision, add a cluster
  mvm-tui cluster trust [--check] --config PATH   the hosts' trust for live migration
  mvm-tui console web-01 --demo     a VM's serial console in this terminal (ctrl+] leaves)
  mvm-tui shell HOST --config PATH  a shell on a host in this terminal (ctrl+] leaves)
  mvm-tui config example > config.toml   an example configuration to edit
  mvm-tui lab up                    a real 3-host lab on this machine (root, Debian 12)
"""


def _common_options(subcommand: bool) -> argparse.ArgumentParser:
    # A subcommand's copy must not reset what was given before the subcommand's name:
    # its options have no default at all (SUPPRESS), not argparse's None and False.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, metavar="PATH",
        help="configuration file (default: $XDG_CONFIG_HOME/mvm-tui/config.toml)",
        default=argparse.SUPPRESS if subcommand else None,
    )
    common.add_argument(
        "--demo", action="store_true",
        help="use the built-in simulated cluster instead of real hosts",
        default=argparse.SUPPRESS if subcommand else False,
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mvm-tui", description=DESCRIPTION, epilog=EPILOG, parents=[_common_options(False)],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_inventory(sub)
    _add_plans(sub)
    add_workloads(sub, _common_options(True))
    _add_ha(sub)
    _add_decommission(sub)
    _add_cluster(sub)
    add_consoles(sub, _common_options(True))
    _add_config(sub)
    sub.add_parser(
        "lab", add_help=False,
        help="build and drive a real local test lab (root, Debian 12): see `mvm-tui lab --help`",
    )
    return parser


def _add_inventory(sub: _Subcommands) -> None:
    inventory = sub.add_parser(
        "inventory", parents=[_common_options(True)],
        help="print clusters, hosts and VMs (state, placement, resources, host of each VM)",
        description="Poll every host once and print the clusters, their hosts and VMs.",
    )
    inventory.add_argument("--json", action="store_true", required=True,
                           help="print JSON (the only output format)")
    inventory.add_argument(
        "--sample", type=_seconds, default=1.0, metavar="SECONDS",
        help="measure the rates (CPU %%, disk and network) between two polls this far apart "
             "(default 1); 0 polls once and prints them as null (not measured)",
    )
    inventory.add_argument(
        "--accept-new-host-keys", action="store_true",
        help="trust a host key that is not in known_hosts yet, and save it (a changed key is "
             "always refused); without it an unknown key is refused and shown",
    )


def _add_plans(sub: _Subcommands) -> None:
    plans = sub.add_parser(
        "plans", parents=[_common_options(True)],
        help="where a VM of each plan (or --size) fits now, and whether the failover reserve "
             "holds with it there",
        description="Poll every host once; for each plan of the config (or the --size given), "
        "list the hosts with room for a VM of it and, for each, whether the running Auto and "
        "Failover VMs of any one lost host would still all restart elsewhere with it there.",
    )
    plans.add_argument("--cluster", metavar="NAME", help="only this cluster of the config")
    plans.add_argument("--size", metavar="VCPUS:MEMORY_MB", type=_size,
                       help="a custom size instead of the plans, e.g. 4:8192")
    plans.add_argument("--json", action="store_true", help="print JSON")


def _size(text: str) -> Size:
    from mvm_tui.plans_cli import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_ha(sub: _Subcommands) -> None:
    ha = sub.add_parser(
        "ha", parents=[_common_options(True)],
        help="run the HA (failover) service headless, until stopped (see contrib/)",
        description="Watch every host; when one is lost, fence it and restart its Auto and "
        "Failover VMs elsewhere. One service acts per cluster (a lock); decisions are printed.",
    )
    ha.add_argument("--cluster", metavar="NAME", help="only this cluster of the config")


def _add_decommission(sub: _Subcommands) -> None:
    decom = sub.add_parser(
        "decommission", parents=[_common_options(True)],
        help="remove a Ceph host from its cluster, step by step (resumable)",
        description="Drain the host's OSDs one at a time, remove its monitor, its CRUSH bucket "
        "and its place in the config, with every guard of the TUI. The log goes to stdout. An "
        "unfinished decommission of the host is resumed.",
    )
    decom.add_argument("host", metavar="HOST", help="the host's name in the config")
    decom.add_argument("--dry-run", action="store_true",
                       help="print the plan and every command; change nothing")


def _add_cluster(sub: _Subcommands) -> None:
    cluster = sub.add_parser("cluster", help="create a cluster headless (see `cluster create`)")
    cluster_sub = cluster.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    create = cluster_sub.add_parser(
        "create", parents=[_common_options(True)],
        help="preflight, provision and add a cluster described in a TOML file",
        description="The Add Cluster wizard without the UI: FILE holds one [[clusters]] table "
        "(the keys of config.toml). Nothing changes unless every host passes the preflight.",
    )
    create.add_argument("--from", dest="source", type=Path, required=True, metavar="FILE",
                        help="the TOML file describing the cluster: one [[clusters]] table "
                             "with its hosts (see `mvm-tui config example`)")
    create.add_argument("--accept-new-host-keys", action="store_true",
                        help="trust hosts' keys not in known_hosts yet (a changed key is "
                             "always refused)")
    trust = cluster_sub.add_parser(
        "trust", parents=[_common_options(True)],
        help="set up and check the hosts' mutual trust for live migration",
        description="Every host of the cluster makes its own migration key (it never leaves "
        "the host) and trusts the others' keys and host keys, then each host logs in to every "
        "other as its libvirtd does to migrate. Idempotent. --check: only check (read-only).",
    )
    trust.add_argument("--cluster", metavar="NAME", help="the cluster (when the config has "
                       "several)")
    trust.add_argument("--check", action="store_true", help="only check; change nothing")
    trust.add_argument("--accept-new-host-keys", action="store_true",
                       help="trust hosts' keys not in known_hosts yet (a changed key is "
                            "always refused)")


def _add_config(sub: _Subcommands) -> None:
    config = sub.add_parser("config", help="the configuration file (see `config example`)")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_sub.add_parser(
        "example", help="print an example config.toml, every key explained",
        description="Print the example configuration that comes with mvm-tui: every key, "
        "explained, with its default. Redirect it to a file and edit it.",
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    crash.enable_crash_traces(argv)  # first: a fatal error anywhere after leaves its trace
    if argv[:1] == ["lab"]:
        from mvm_tui.lab.__main__ import main as lab_main

        return lab_main(argv[1:])
    args = build_parser().parse_args(argv)
    crashes = crash.earlier_crashes()  # told once: on stderr, or in the TUI
    if args.command is not None:
        for line in crashes:
            print(f"mvm-tui: {line}", file=sys.stderr)
    if args.command == "config":  # example: the only action
        try:
            sys.stdout.write(example_text())
        except BrokenPipeError:
            _reader_left()
        return 0
    from mvm_tui.config import ConfigError
    from mvm_tui.session import Prompts, SessionError, load

    try:
        if args.command == "cluster" and args.cluster_command == "trust":
            from mvm_tui.cluster_cli import trust_cluster

            return asyncio.run(trust_cluster(getattr(args, "config", None), args.cluster,
                                             check_only=args.check,
                                             accept_new=args.accept_new_host_keys))
        if args.command == "cluster":  # the config file may not exist yet: it creates it
            from mvm_tui.cluster_cli import create_cluster

            return asyncio.run(create_cluster(args.source, getattr(args, "config", None),
                                              accept_new=args.accept_new_host_keys))
        config = load(args.config, args.demo)
        if args.command == "ha":
            from mvm_tui.ha_cli import run_ha

            return asyncio.run(run_ha(args.config, demo=args.demo, cluster=args.cluster))
        if args.command == "decommission":
            from mvm_tui.decommission_cli import run_decommission

            return asyncio.run(run_decommission(args.host, args.config, demo=args.demo,
                                                dry_run=args.dry_run))
        if args.command in ("plans", "vm", "image", "console", "shell"):
            return asyncio.run(run_workloads(args, config))
        if args.command == "inventory":
            prompts = Prompts(accept_new_host_keys=args.accept_new_host_keys)
            return asyncio.run(_inventory(config, args.demo, prompts, args.sample))
        return _run_tui(config, args.demo, args.config, crashes)
    except (ConfigError, SessionError) as exc:
        print(f"mvm-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `mvm-tui inventory --json | head`: the reader left
        _reader_left()
        return 0


def _reader_left() -> None:
    """What is still buffered for stdout goes nowhere, so the flush at exit raises no second
    error."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _run_tui(config: Config, demo: bool, config_path: Path | None,
             notices: Sequence[str] = ()) -> int:
    from mvm_tui.app import MvmApp  # textual is only loaded for the UI
    from mvm_tui.app_clusters import Managed
    from mvm_tui.ha_cli import build_ha_service
    from mvm_tui.keymap import checked_keymap
    from mvm_tui.services.cluster import Cluster
    from mvm_tui.services.decommission_runs import decommissions_for
    from mvm_tui.session import open_session

    keymap = checked_keymap(config, config_path or paths.default_config_path())
    session = open_session(config, demo)
    path = None if demo else config_path or paths.default_config_path()
    damage = session.store_damage  # then nothing is recorded, so nothing is done: no HA

    def managed(cluster: Cluster) -> Managed:
        return Managed(cluster, build_ha_service(session, cluster) if damage is None else None,
                       decommissions_for(session, cluster, path))

    first, *others = [managed(c) for c in session.clusters]
    faults = first.cluster.backend.fault_injector() if demo else None  # in the palette
    try:
        app = MvmApp(first.cluster, prompts=session.prompts, ha=first.ha,
                     decommissions=first.decommissions, others=others,
                     add_cluster=None if demo else lambda spec: managed(session.add(spec)),
                     config_path=path, notices=notices,
                     runs_refused=None if damage is None else str(damage), faults=faults,
                     settle_gc=True)
        app.set_keymap(keymap)
        app.run()
    finally:
        session.close_store()
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 60")
    return value


async def _inventory(config: Config, demo: bool, prompts: Prompts, sample: float = 1.0) -> int:
    from mvm_tui.session import measure, open_session

    session = open_session(config, demo, prompts=prompts)
    if session.store_damage is not None:  # the inventory records nothing: said, and on
        print(f"mvm-tui: warning: {session.store_damage}", file=sys.stderr)
    try:
        await asyncio.gather(*(measure(cluster, sample) for cluster in session.clusters))
        json.dump(inventory_document(session, sample), sys.stdout, indent=2)
        sys.stdout.write("\n")
    finally:
        await session.close()
    return prompts.report()


HOST_RATES = ("cpu_pct", "net_rx_bps", "net_tx_bps", "disk_rd_bps", "disk_wr_bps")
VM_RATES = ("cpu_pct", "disk_rd_bps", "disk_wr_bps", "net_rx_bps", "net_tx_bps")


def inventory_document(session: Session, sample: float = 1.0) -> dict[str, Any]:
    """The clusters as JSON. Rates are over `sample` seconds between two polls; with 0 there
    was one poll and they are null (not measured), never a 0 that would read as idle."""
    clusters = []
    for cluster in session.clusters:
        snap = cluster.snapshot()
        hosts = [h.model_dump(mode="json") for h in snap.hosts]
        vms = [v.model_dump(mode="json") for v in snap.vms]
        if sample <= 0:
            for h in hosts:
                if h.get("metrics"):
                    h["metrics"].update(dict.fromkeys(HOST_RATES))
            for v in vms:
                v.update(dict.fromkeys(VM_RATES))
        clusters.append({
            "name": snap.name,
            "layout": snap.layout.value,
            "time": snap.time,
            "rates_over_s": sample if sample > 0 else None,
            "hosts": hosts,
            "vms": vms,
            "ceph": snap.ceph.model_dump(mode="json") if snap.ceph else None,
            "ceph_error": snap.ceph_error,
        })
    return {"clusters": clusters}


if __name__ == "__main__":
    raise SystemExit(main())
