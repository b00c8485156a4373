"""What a new VM is made of (issue 17), checked before anything is made: every problem named by
its field, so the wizard and `vm create --from FILE` can say which value is wrong. Pure.

A VM is made for change: its maximum vCPUs and memory are set at creation (its size times a
headroom, within limits), so a later resize within them is done live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mvm_tui.core.validation import validate_hostname_label
from mvm_tui.models import Placement

MAX_VCPUS = 256  # what one VM may get, whatever the headroom
MAX_MEMORY_MB = 4 * 1024 * 1024
MEMORY_SLOTS = 16  # hot-pluggable memory modules (DIMMs) a VM is made with
_RBD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MEMORY_ALIGN_MB = 128  # hot-plugged DIMMs are sized in these (qemu's alignment on x86)


@dataclass(frozen=True)
class DiskSpec:
    size_gb: int
    pool: str  # the Ceph pool holding the image (HCI)
    image: str  # the RBD image's name in the pool


@dataclass(frozen=True)
class NicSpec:
    vlan: int  # the VLAN port group (vlan-N) of the cluster's compute network
    mac: str = ""  # "" lets libvirt choose one


@dataclass(frozen=True)
class VmSpec:
    name: str
    vcpus: int
    memory_mb: int
    disks: tuple[DiskSpec, ...]
    nics: tuple[NicSpec, ...] = ()
    placement: Placement = Placement.AUTO
    headroom: int = 4  # max vCPUs and memory: this many times the size, within the limits
    uuid: str = ""
    seed: str = ""  # "POOL/IMAGE": the NoCloud seed (an ISO labelled cidata) on RBD, if any
    priority: int = 0  # restart priority after a host loss, higher first

    @property
    def max_vcpus(self) -> int:
        return max(self.vcpus, min(self.vcpus * self.headroom, MAX_VCPUS))

    @property
    def max_memory_mb(self) -> int:
        most = min(self.memory_mb * self.headroom, MAX_MEMORY_MB)
        aligned = most - (most - self.memory_mb) % MEMORY_ALIGN_MB  # whole DIMMs above it
        return max(self.memory_mb, aligned)


def problems(spec: VmSpec, vlans: tuple[int, ...] = ()) -> dict[str, str]:
    """field -> what is wrong with it (empty when the spec can be made). `vlans`: the cluster's
    compute VLANs, when known."""
    out: dict[str, str] = {}
    try:
        validate_hostname_label(spec.name)
    except ValueError as exc:
        out["name"] = str(exc)
    if not 1 <= spec.vcpus <= MAX_VCPUS:
        out["vcpus"] = f"{spec.vcpus} is not from 1 to {MAX_VCPUS}"
    if not 64 <= spec.memory_mb <= MAX_MEMORY_MB:
        out["memory_mb"] = f"{spec.memory_mb} MiB is not from 64 MiB to 4 TiB"
    elif spec.memory_mb % 2:
        out["memory_mb"] = f"{spec.memory_mb} MiB is not a whole number of 2 MiB"
    if not 1 <= spec.headroom <= 16:
        out["headroom"] = f"{spec.headroom} is not from 1 to 16"
    if not spec.disks:
        out["disks"] = "a VM needs its root disk"
    for i, disk in enumerate(spec.disks):
        if not 1 <= disk.size_gb <= 65536:
            out[f"disks[{i}].size_gb"] = f"{disk.size_gb} GB is not from 1 GB to 64 TB"
        for part in ("pool", "image"):
            if not _RBD_NAME.fullmatch(getattr(disk, part)):
                out[f"disks[{i}].{part}"] = (f"{getattr(disk, part)!r} is not an RBD name "
                                             "(letters, digits, '.', '_', '-')")
    for i, nic in enumerate(spec.nics):
        if vlans and nic.vlan not in vlans:
            out[f"nics[{i}].vlan"] = (f"VLAN {nic.vlan} is not one of the cluster's compute "
                                      "VLANs")
        elif not 1 <= nic.vlan <= 4094:
            out[f"nics[{i}].vlan"] = f"{nic.vlan} is not a VLAN id (1-4094)"
        if nic.mac and not _is_mac(nic.mac):
            out[f"nics[{i}].mac"] = f"{nic.mac!r} is not a MAC address (52:54:00:12:34:56)"
    return out


def _is_mac(text: str) -> bool:
    parts = text.split(":")
    return len(parts) == 6 and all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts)
