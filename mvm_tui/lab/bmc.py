"""The lab's BMCs: an `ipmitool` look-alike (python -m mvm_tui.lab.bmc, written as the lab's
ipmitool) whose `chassis power off|on|status` pulls or restores the power of the lab host at
the -H address. The password must come as with a real BMC: -E and IPMI_PASSWORD (= "lab")."""

from __future__ import annotations

import argparse
import os
import sys

from mvm_tui.lab import netns as net
from mvm_tui.lab.manage import power_off, restore
from mvm_tui.lab.model import LabError, current

PASSWORD = "lab"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ipmitool (mvm-tui lab)")
    p.add_argument("-I", dest="interface", required=True, choices=["lanplus"])
    p.add_argument("-H", dest="address", required=True)
    p.add_argument("-U", dest="user", required=True)
    p.add_argument("-E", dest="env_password", action="store_true")
    p.add_argument("command", nargs="+")
    args = p.parse_args(argv)
    if not args.env_password or os.environ.get("IPMI_PASSWORD") != PASSWORD:
        print("Error: Unable to establish IPMI v2 / RMCP+ session", file=sys.stderr)
        return 1
    info = current()
    if info is None:
        print("Error: no lab is up", file=sys.stderr)
        return 1
    try:
        host = info.host(args.address)
    except LabError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    on = net.anchor_alive(host.index)
    match args.command:
        case ["chassis", "power", "status"]:
            print(f"Chassis Power is {'on' if on else 'off'}")
        case ["chassis", "power", "off"]:
            if on:
                power_off(host.name)
            print("Chassis Power Control: Down/Off")
        case ["chassis", "power", "on"]:
            if not on:
                restore(host.name)
            print("Chassis Power Control: Up/On")
        case _:
            print(f"Error: unsupported command {' '.join(args.command)}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
