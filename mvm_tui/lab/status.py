"""What runs in the lab right now, host by host (for `python -m mvm_tui.lab status`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mvm_tui.lab import netns as net
from mvm_tui.lab.ceph import ceph_health
from mvm_tui.lab.delay import current_delay
from mvm_tui.lab.model import BRIDGE, current, host_dir, lab_dir, process_alive, run


@dataclass
class HostStatus:
    name: str
    address: str
    netns: bool
    link_up: bool
    anchor: bool
    ssh: bool
    daemons: dict[str, bool] = field(default_factory=dict)  # pid-file name -> alive


@dataclass
class LabStatus:
    directory: str
    up: bool  # state saved and every host's sshd answers
    bridge: bool
    hosts: list[HostStatus]
    ceph_health: str | None
    delay_ms: float
    config_path: str | None

    def lines(self) -> list[str]:
        out = [f"lab {'up' if self.up else 'DOWN'} in {self.directory}; bridge "
               f"{BRIDGE} {'present' if self.bridge else 'absent'}"]
        for h in self.hosts:
            daemons = " ".join(f"{k}{'' if v else '(dead)'}" for k, v in sorted(h.daemons.items()))
            state = "reachable" if h.ssh else ("cut" if h.anchor and not h.link_up else "down")
            out.append(f"  {h.name} {h.address}: {state}; {daemons or 'no daemons'}")
        if self.ceph_health is not None:
            out.append(f"  ceph: {self.ceph_health or 'no answer'}")
        if self.delay_ms:
            out.append(f"  link delay: {self.delay_ms:g} ms")
        if self.config_path:
            out.append(f"  mvm-tui config: {self.config_path}")
        return out


def _link_up(veth: str) -> bool:
    """The administrative state (what cut() sets), from the flags: <BROADCAST,...,UP,...>."""
    out = run(["ip", "-o", "link", "show", "dev", veth], check=False).stdout
    flags = out.partition("<")[2].partition(">")[0].split(",")
    return "UP" in flags


def status() -> LabStatus:
    info = current()
    namespaces = net.lab_namespaces()
    hosts: list[HostStatus] = []
    for h in info.hosts if info else ():
        d = host_dir(h.index)
        daemons: dict[str, bool] = {}
        for f in [*d.glob("run-lab/*.pid"), *d.glob("run-libvirt/*.pid"),
                  *d.glob("run-ceph/*.pid")]:
            try:
                daemons[f.stem.removeprefix("ceph-")] = process_alive(int(f.read_text()))
            except (OSError, ValueError):
                continue
        hosts.append(HostStatus(
            name=h.name, address=h.address, netns=h.netns in namespaces,
            link_up=_link_up(h.veth), anchor=net.anchor_alive(h.index),
            ssh=net.ssh_banner(h.address, h.port, 1), daemons=daemons))
    health = None
    if info and info.ceph:
        alive = [h for h in info.hosts if net.anchor_alive(h.index)]
        health = ceph_health(alive[0].index) if alive else ""
    return LabStatus(
        directory=str(lab_dir()), up=bool(info and hosts and all(h.ssh for h in hosts)),
        bridge=net.link_exists(BRIDGE), hosts=hosts, ceph_health=health,
        delay_ms=current_delay(), config_path=str(info.config_path) if info else None)
