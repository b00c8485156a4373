"""How RealBackend reaches hosts (its options) and what it learns of each host once."""

from __future__ import annotations

from dataclasses import dataclass, field

from mvm_tui.backends.libvirt import KeepAlive
from mvm_tui.backends.libvirt.uri import DEFAULT_TRANSPORT, Transport
from mvm_tui.backends.ssh import SshOptions


@dataclass(frozen=True)
class RealOptions:
    ssh: SshOptions = field(default_factory=SshOptions)
    libvirt_connect_timeout: float = 15.0
    keepalive: KeepAlive = field(default_factory=KeepAlive)
    libvirt_transport: Transport = DEFAULT_TRANSPORT
    ceph_timeout: float = 20.0
    # libvirt's VM stats wait for each qemu's monitor, which stalls while the VM's storage
    # does (an RBD disk whose OSD host just went away): past this, the host is shown with
    # its last VMs if it still answers over SSH, rather than declared unreachable
    stats_deadline: float = 5.0
    # libvirt's client runs in a process of its own (backends/libvirt/apart.py): a crash in
    # it never takes this one down
    libvirt_apart: bool = True


@dataclass
class HostInfo:
    hostname: str  # as Ceph names the host's CRUSH bucket (`hostname -s`)
    os: str
