"""python -m mvm_tui.lab up|down|status|cut HOST|power-off HOST|restore HOST|netem MS|install|
guests [start [N]]"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence

from mvm_tui.config import ConfigError
from mvm_tui.lab import delay, guests_cmd, manage
from mvm_tui.lab.guests import GUEST_KINDS
from mvm_tui.lab.model import SCRIPTS, LabError, require_root, run
from mvm_tui.lab.status import status as lab_status


def _say(msg: str) -> None:
    with contextlib.suppress(OSError):  # stdout closed (| head): keep going
        print(msg, flush=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mvm_tui.lab",
        description="The mvm-tui test lab: network-namespace hosts with sshd, libvirtd and "
        "Ceph on this machine (root, Debian 12). State in $MVM_LAB_DIR (default /tmp/mvm-lab).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    upp = sub.add_parser("up", help="build the lab (installs missing apt packages)")
    upp.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    upp.add_argument("--no-ceph", action="store_true", help="hosts, sshd and libvirtd only")
    upp.add_argument("--bare", action="store_true",
                     help="hosts with sshd only (before provisioning), and a spare NIC tr-compute")
    upp.add_argument("--san", action="store_true",
                     help="an iSCSI target (tgtd) at 10.213.0.5 for external storage")
    upp.add_argument("--objectstore", choices=["memstore", "bluestore"], default="memstore",
                     help="OSD store: memstore (RAM, fastest) or bluestore on /dev/mvmlab-osd")
    sub.add_parser("down", help="stop every lab process, delete namespaces, bridge, state")
    sub.add_parser("status", help="what runs in the lab")
    sub.add_parser("install", help="only install the apt packages the lab needs")
    for name, text in (("cut", "unplug a host's cable (processes keep running)"),
                       ("power-off", "kill every process of a host and unplug it"),
                       ("restore", "plug a host back in and start its daemons again")):
        sub.add_parser(name, help=text).add_argument("host", help="h1, h2, ...")
    net = sub.add_parser("netem", help="delay every packet the hosts send (0 removes it)")
    net.add_argument("delay_ms", type=float, metavar="MS",
                     help="milliseconds added to every packet (0: none)")
    guests = sub.add_parser("guests", help="list the lab's guests (host, state, kind); "
                            "`guests start [N]`: N tiny guests running, spread on the hosts")
    guests_sub = guests.add_subparsers(dest="guests_command", metavar="ACTION")
    start = guests_sub.add_parser(
        "start", help=f"guest-1..guest-N running (default {guests_cmd.DEFAULT_COUNT}): made "
        "where missing on the host with the fewest guests, started where shut off")
    start.add_argument("count", type=int, nargs="?", default=guests_cmd.DEFAULT_COUNT,
                       metavar="N", help="how many guests run afterwards "
                       f"(default {guests_cmd.DEFAULT_COUNT})")
    start.add_argument("--kind", choices=GUEST_KINDS, default="nodisk",
                       help="what each new guest is (default nodisk: 64 MiB, no disk, KVM, "
                       "ignores ACPI; rbd: a disk in Ceph; linux: shuts down on ACPI)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.monotonic()
    try:
        if args.command == "up":
            info = manage.up(args.hosts, not args.no_ceph, bare=args.bare, san=args.san,
                             objectstore=args.objectstore,
                             say=_say)
            for h in info.hosts:
                _say(f"  {h.name} {h.user}@{h.address}:{h.port} ({h.hostname}) key {h.key_file}")
            _say(f"  known_hosts {info.known_hosts}\n  config {info.config_path}")
            _say(f"  try: mvm-tui --config {info.config_path}")
        elif args.command == "down":
            manage.down(say=_say)
        elif args.command == "status":
            for line in lab_status().lines():
                _say(line)
        elif args.command == "install":
            require_root()
            _say(run(["bash", SCRIPTS / "install.sh"], timeout=1200).stdout.strip())
        elif args.command == "netem":
            delay.netem(args.delay_ms, say=_say)
        elif args.command == "guests":
            if args.guests_command == "start":
                guests_cmd.start_guests(args.count, args.kind, say=_say)
            for line in guests_cmd.guest_lines(*guests_cmd.list_guests()):
                _say(line)
        else:
            action = {"cut": manage.cut, "power-off": manage.power_off,
                      "restore": manage.restore}[args.command]
            action(args.host, say=_say)
    except (LabError, ConfigError) as e:
        print(f"mvm-tui lab {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    _say(f"{args.command} done in {time.monotonic() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
