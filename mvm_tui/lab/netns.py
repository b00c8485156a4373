"""The lab's network (bridge, one netns + veth per host), loop devices, and teardown by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

from mvm_tui.lab.model import (
    BRIDGE,
    GATEWAY,
    PREFIX,
    LabError,
    LabHost,
    host_dir,
    lab_dir,
    process_alive,
    recorded_pids,
    run,
)

OSD_DEVICE = "/dev/mvmlab-osd"  # each host's own block device (a loop device), same path on all
OSD_IMAGE_BYTES = 4 << 30  # sparse


def lab_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def create_network(hosts: list[LabHost], log: Path) -> None:
    """The bridge with the root namespace's address, and each host's netns with eth0."""
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"], log=log)
    run(["ip", "addr", "replace", f"{GATEWAY}/24", "dev", BRIDGE], log=log)
    run(["ip", "link", "set", BRIDGE, "up"], log=log)
    for h in hosts:
        if h.netns not in lab_namespaces():
            run(["ip", "netns", "add", h.netns], log=log)
        if not link_exists(h.veth):
            run(["ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns",
                 h.netns], log=log)
        run(["ip", "link", "set", h.veth, "master", BRIDGE, "up"], log=log)
        run(["ip", "-n", h.netns, "addr", "replace", f"{h.address}/24", "dev", "eth0"], log=log)
        run(["ip", "-n", h.netns, "link", "set", "eth0", "up"], log=log)
        run(["ip", "-n", h.netns, "link", "set", "lo", "up"], log=log)


def create_loop_devices(hosts: list[LabHost], log: Path) -> None:
    """A sparse image per host on a loop device, shown inside host hN as /dev/mvmlab-osd."""
    Path(OSD_DEVICE).touch(exist_ok=True)  # mount point for the per-host bind mounts
    for h in hosts:
        d = host_dir(h.index)
        d.mkdir(parents=True, exist_ok=True)
        image = d / "osd.img"
        with image.open("ab") as f:
            f.truncate(OSD_IMAGE_BYTES)
        dev = run(["losetup", "--find", "--show", image], log=log).stdout.strip()
        (d / "loop").write_text(dev + "\n")


def detach_loop_devices() -> None:
    for image in (lab_dir() / "hosts").glob("h*/osd.img"):
        out = run(["losetup", "--associated", image], check=False).stdout
        for line in out.splitlines():
            run(["losetup", "--detach", line.split(":")[0]], check=False)
    with contextlib.suppress(OSError):
        os.unlink(OSD_DEVICE)


def netns_pids(netns: str) -> list[int]:
    out = run(["ip", "netns", "pids", netns], check=False).stdout
    return [int(p) for p in out.split()]


def _signal(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_processes(netns: list[str], timeout: float = 10.0) -> int:
    """SIGKILL every recorded lab process still alive (pid and start time checked) and every
    process in the lab namespaces (their state is thrown away anyway), and wait until they are
    gone. Returns how many there were."""
    recorded = {int(str(e["pid"])) for e in recorded_pids()
                if process_alive(int(str(e["pid"])), int(str(e["start"])))}
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        targets = (recorded | {p for ns in netns for p in netns_pids(ns)}) - killed
        targets = {p for p in targets if process_alive(p)}
        if not targets and not any(process_alive(p) for p in killed):
            return len(killed)
        if time.monotonic() > deadline:
            raise LabError(f"processes {sorted(targets | killed)} did not die")
        _signal(sorted(targets), signal.SIGKILL)
        killed |= targets
        time.sleep(0.05)


def delete_network(netns: list[str]) -> None:
    for ns in netns:
        run(["ip", "netns", "del", ns], check=False)
    if link_exists(BRIDGE):
        run(["ip", "link", "del", BRIDGE], check=False)
    out = run(["ip", "-o", "link", "show"], check=False).stdout
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith("mvl-"):
            run(["ip", "link", "del", name], check=False)


def ssh_banner(address: str, port: int = 22, timeout: float = 2.0) -> bool:
    """True if an SSH server answers with its banner at address:port."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def host_public_key(index: int) -> str:
    """'ssh-ed25519 AAAA...' of host hN."""
    text = (host_dir(index) / "etc-ssh" / "ssh_host_ed25519_key.pub").read_text()
    return " ".join(text.split()[:2])


def hx(index: int, *cmd: str | Path) -> list[str]:
    """A command line that runs `cmd` inside host hN (its netns, mount and UTS namespaces)."""
    anchor = (host_dir(index) / "anchor.pid").read_text().strip()
    return ["nsenter", "-t", anchor, "-n", "-m", "-u", "--", *(str(c) for c in cmd)]


def anchor_alive(index: int) -> bool:
    try:
        pid = int((host_dir(index) / "anchor.pid").read_text())
    except (OSError, ValueError):
        return False
    return process_alive(pid)

