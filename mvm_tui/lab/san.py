"""The lab's SAN, for external-storage clusters: an iSCSI target (tgtd, all in userspace) in a
namespace of its own, mvmlab-san at 10.213.0.5 on the lab bridge, with LUNs backed by sparse
files in the lab directory. Any initiator may log in (the lab has no ACLs)."""

from __future__ import annotations

import socket
import subprocess
from functools import partial
from pathlib import Path

from mvm_tui.lab.model import BRIDGE, PREFIX, SUBNET, lab_dir, record, run, wait_for

NETNS = f"{PREFIX}san"
VETH = "mvl-san"
ADDRESS = f"{SUBNET}.5"
IQN = "iqn.2026-11.lab.mvm-tui:san"
LUNS = 2
LUN_BYTES = 256 << 20  # sparse
CONTROL_PORT = "213"  # tgtd's management socket /var/run/tgtd/socket.213: not another tgtd's


def _ns(*cmd: str | Path) -> list[str | Path]:
    return ["ip", "netns", "exec", NETNS, *cmd]


TGTADM = ("tgtadm", "-C", CONTROL_PORT, "--lld", "iscsi")


def _tgtadm_answers() -> bool:
    return run(_ns(*TGTADM, "--op", "show", "--mode", "sys"), check=False).returncode == 0


def san_up(log: Path) -> None:
    """Start the SAN: its namespace, tgtd, target IQN with LUNS LUNs of LUN_BYTES."""
    run(["ip", "netns", "add", NETNS], log=log)
    run(["ip", "link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS],
        log=log)
    run(["ip", "link", "set", VETH, "master", BRIDGE, "up"], log=log)
    run(["ip", "-n", NETNS, "addr", "add", f"{ADDRESS}/24", "dev", "eth0"], log=log)
    for link in ("eth0", "lo"):
        run(["ip", "-n", NETNS, "link", "set", link, "up"], log=log)
    d = lab_dir() / "san"
    d.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        tgtd = subprocess.Popen([str(c) for c in _ns("tgtd", "-f", "-C", CONTROL_PORT)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    record(tgtd.pid, "san", "tgtd")  # `ip netns exec` execs tgtd: the pid is tgtd's
    wait_for(_tgtadm_answers, 10, "tgtd in the lab's SAN")
    tgt = (*TGTADM, "--tid", "1")
    run(_ns(*tgt, "--op", "new", "--mode", "target", "-T", IQN), log=log)
    for lun in range(1, LUNS + 1):
        image = d / f"lun{lun}.img"
        with image.open("wb") as f:  # a new lab starts with blank disks
            f.truncate(LUN_BYTES)
        run(_ns(*tgt, "--op", "new", "--mode", "logicalunit", "--lun", str(lun), "-b", image),
            log=log)
    run(_ns(*tgt, "--op", "bind", "--mode", "target", "-I", "ALL"), log=log)
    wait_for(partial(_portal_answers, ADDRESS), 10, "the lab's iSCSI portal")


def san_sockets_remove() -> None:
    """The management socket files of the lab's tgtd (left behind when it is killed)."""
    for suffix in ("", ".lock"):
        Path(f"/var/run/tgtd/socket.{CONTROL_PORT}{suffix}").unlink(missing_ok=True)


def _portal_answers(address: str) -> bool:
    try:
        with socket.create_connection((address, 3260), timeout=2):
            return True
    except OSError:
        return False
