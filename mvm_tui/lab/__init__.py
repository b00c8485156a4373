"""mvm-tui's test lab: real hosts on one Debian 12 machine, built as root.

Each host is a network namespace on the bridge mvmlab-br0 (10.213.0.0/24) with its own mount
and UTS namespaces (hostname mvmlab-hN, its own /etc/ssh, /etc/libvirt, /etc/ceph, ...), its
own sshd and libvirtd, and with `ceph` one Ceph 16 cluster across the hosts (a mon and an OSD
per host, a mgr on h1, RBD pool "vms"). The lab writes a known_hosts file with every host's
real key and a ready mvm-tui config. State: $MVM_LAB_DIR (default /tmp/mvm-lab).

    from mvm_tui import lab
    info = lab.up()              # or: python -m mvm_tui.lab up
    lab.cut("h2"); lab.restore("h2"); lab.power_off("h3"); lab.restore("h3")
    lab.netem(20)                # +20 ms on every packet a host sends; lab.netem(0) removes it
    lab.down()
"""

from mvm_tui.lab.ceph import ceph_health, ceph_status, wait_health_ok
from mvm_tui.lab.delay import netem
from mvm_tui.lab.guests import (
    GUEST_KINDS,
    define_guest,
    defined_guests,
    guest_xml,
    make_cloud_image,
    make_linux_guest,
)
from mvm_tui.lab.manage import cut, down, power_off, restore, up
from mvm_tui.lab.model import LabError, LabHost, LabInfo, current, lab_dir
from mvm_tui.lab.status import LabStatus, status

__all__ = [
    "GUEST_KINDS", "LabError", "LabHost", "LabInfo", "LabStatus", "ceph_health", "ceph_status",
    "current", "cut", "define_guest", "defined_guests", "down", "guest_xml", "lab_dir",
    "make_cloud_image", "make_linux_guest", "netem", "power_off", "restore", "status", "up",
    "wait_health_ok",
]
