"""A request for a new VM (issue 17), as the wizard and `vm create --from FILE` make it, checked
against the cluster before anything is made, and the names of what it makes. Pure.

Names in the cluster's RBD pool: a library image is `img.NAME` (its clones' parent, snapshot
`@base`), a VM's disks `vm.NAME.diskN` and its cloud-init seed `vm.NAME.seed`; a dot cannot
be in a VLAN port group or a disk's suffix, so no two of these can be the same name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field

from mvm_tui.core import cloud_init, vm_spec
from mvm_tui.core.cloud_init import CloudInit
from mvm_tui.core.vm_spec import DiskSpec, NicSpec, VmSpec
from mvm_tui.models import Placement

BASE_SNAP = "base"  # the protected snapshot of a library image that VM disks are cloned from


def image_rbd(image: str) -> str:
    return f"img.{image}"


def disk_rbd(vm: str, index: int) -> str:
    return f"vm.{vm}.disk{index}"


def seed_rbd(vm: str) -> str:
    return f"vm.{vm}.seed"


@dataclass(frozen=True)
class NewVm:
    name: str
    vcpus: int
    memory_mb: int
    image: str  # a library image's name
    disk_gb: int  # the root disk, cloned from the image and grown to this size
    volumes_gb: tuple[int, ...] = ()  # extra empty disks
    vlans: tuple[int, ...] = ()  # a NIC on each of these VLAN port groups
    host: str | None = None  # None: the placement engine chooses
    placement: Placement = Placement.AUTO
    priority: int = 0  # restart priority after a host loss, higher first
    headroom: int = 4
    cloud: CloudInit | None = None  # None: no seed (an image that needs none)
    allow_reserve_break: bool = False  # the operator knows the failover reserve breaks
    start: bool = True
    uuid: str = field(default="", compare=False)  # given once, at the run's creation

    def spec(self, pool: str) -> VmSpec:
        sizes = (self.disk_gb, *self.volumes_gb)
        return VmSpec(
            name=self.name, vcpus=self.vcpus, memory_mb=self.memory_mb,
            disks=tuple(DiskSpec(size, pool, disk_rbd(self.name, i))
                        for i, size in enumerate(sizes)),
            nics=tuple(NicSpec(vlan, self.mac(i)) for i, vlan in enumerate(self.vlans)),
            placement=self.placement, priority=self.priority,
            headroom=self.headroom, uuid=self.uuid,
            seed=f"{pool}/{seed_rbd(self.name)}" if self.cloud is not None else "")


    def mac(self, index: int) -> str:
        """The MAC of its NIC `index`: from its uuid, so a retried run makes the same, and the
        seed's network-config can name the first NIC by it."""
        return mac_for(self.uuid, index)


def mac_for(uuid: str, index: int) -> str:
    digest = hashlib.sha256(f"{uuid}/{index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def problems(req: NewVm, *, images: Collection[str], vlans: tuple[int, ...],
             vms: Collection[str], hosts: Collection[str]) -> dict[str, str]:
    """field -> what is wrong with it, against the cluster: its library `images`, compute
    `vlans`, the `vms` it has (names are unique in a cluster) and its `hosts`."""
    out = vm_spec.problems(req.spec("pool"), vlans)
    for key in [k for k in out if k.startswith("disks[")]:  # said by their own fields here
        what = out.pop(key)
        index = int(key[6:key.index("]")])
        if key.endswith(".size_gb"):
            out["disk_gb" if index == 0 else f"volumes_gb[{index - 1}]"] = what
    for key in [k for k in out if k.startswith("nics[")]:
        out[f"vlans[{key[5:key.index(']')]}]"] = out.pop(key)
    if "name" not in out and req.name in vms:
        out["name"] = f"a VM named {req.name} exists in the cluster"
    if req.image not in images:
        out["image"] = (f"no image named {req.image!r} in the cluster's library"
                        if images else "the cluster's image library is empty: import one first")
    if req.host is not None and req.host not in hosts:
        out["host"] = f"no host named {req.host!r} in the cluster"
    if not -1000 <= req.priority <= 1000:
        out["restart_priority"] = f"{req.priority} is not from -1000 to 1000"
    if req.placement is Placement.PINNED and req.host is None:
        out["host"] = "a pinned VM needs its host"
    if req.cloud is not None:
        out.update({f"cloud_init.{k}": v for k, v in cloud_init.problems(req.cloud).items()})
    return out
