"""Open vSwitch in every lab host: its own ovsdb-server and ovs-vswitchd, and a compute bridge.

No openvswitch kernel module here, so the bridge uses the userspace datapath
(datapath_type=netdev). Each host's /etc/openvswitch (conf.db, kept across power-off) and
/run/openvswitch (socket, pid files, logs) are its own (host-up.sh bind-mounts them), so
`ovs-vsctl` over SSH sees that host's switch. `ovs-up.sh` does the work inside the host.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mvm_tui.lab import netns as net
from mvm_tui.lab.model import SCRIPTS, LabError, LabHost, LabInfo, host_dir, lab_dir, record, run

OVS_BRIDGE = "br-compute"
# the lab config's compute_vlans (cfgfile.py: "100-101"): one port group each, access port vlanV
COMPUTE_VLANS = (100, 101)
TRUNK_PORT = "tr-compute"  # a veth trunking every compute VLAN (named in ovs-up.sh)
TOOLS = ("ovs-vsctl", "ovsdb-server", "ovs-vswitchd", "ovsdb-tool")
DAEMONS = ("ovsdb-server", "ovs-vswitchd")


def ovs_installed() -> bool:
    return all(shutil.which(t) for t in TOOLS)


def has_ovs(index: int) -> bool:
    """Host hN was given OVS (its database exists): a restore starts it again."""
    return (host_dir(index) / "etc-ovs" / "conf.db").is_file()


def record_ovs_pids(index: int) -> None:
    """Record host hN's OVS daemons (pid files in its /run/openvswitch) for teardown."""
    for daemon in DAEMONS:
        with contextlib.suppress(OSError, ValueError):
            pid = (host_dir(index) / "run-ovs" / f"{daemon}.pid").read_text().split()[0]
            record(int(pid), f"h{index}", daemon)


def ovs_up(info: LabInfo, hosts: Sequence[LabHost] | None = None, *,
           log: Path | None = None) -> None:
    """Start OVS in every host of the lab (or in `hosts`), in parallel, and build OVS_BRIDGE
    with an access port vlanV (tag=V, type internal) per compute VLAN and TRUNK_PORT carrying
    them all. Idempotent: running daemons, bridge and ports are kept."""
    if not ovs_installed():
        raise LabError("Open vSwitch is not installed (openvswitch-switch): "
                       "python -m mvm_tui.lab install")
    targets = list(info.hosts if hosts is None else hosts)
    log = log or lab_dir() / "lab.log"
    argv = ["bash", str(SCRIPTS / "ovs-up.sh"), OVS_BRIDGE, *map(str, COMPUTE_VLANS)]
    with ThreadPoolExecutor(max(1, len(targets))) as pool:
        futures = [pool.submit(run, net.hx(h.index, *argv), timeout=60, log=log)
                   for h in targets]
        try:
            for f in futures:
                f.result()
        finally:  # also the daemons of the hosts that did start, for teardown
            for h in targets:
                record_ovs_pids(h.index)


def libvirt_network(h: LabHost, log: Path) -> None:
    """The libvirt network provisioning defines (provision/ovs.sh), so VMs mvm-tui creates
    get their NICs as in production: OVS_BRIDGE with a port group vlan-V per compute VLAN.
    Only in a lab with Ceph (as if provisioned): bare hosts are for provisioning to do it."""
    xml = (f"<network><name>{OVS_BRIDGE}</name><forward mode='bridge'/><bridge "
           f"name='{OVS_BRIDGE}'/><virtualport type='openvswitch'/>"
           + "".join(f"<portgroup name='vlan-{v}'><vlan><tag id='{v}'/></vlan></portgroup>"
                     for v in COMPUTE_VLANS) + "</network>")
    virsh = ["virsh", "-q", "-c", "qemu:///system"]
    if run(net.hx(h.index, *virsh, "net-info", OVS_BRIDGE), log=log, check=False).returncode:
        run(net.hx(h.index, *virsh, "net-define", "/dev/stdin"), log=log, input=xml)
    active = run(net.hx(h.index, *virsh, "net-info", OVS_BRIDGE), log=log).stdout
    if not any(line.split() == ["Active:", "yes"] for line in active.splitlines()):
        run(net.hx(h.index, *virsh, "net-start", OVS_BRIDGE), log=log)
    run(net.hx(h.index, *virsh, "net-autostart", OVS_BRIDGE), log=log)
