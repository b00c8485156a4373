"""Optional capabilities of a cluster backend, beyond the ClusterBackend interface.

A backend offers each through a method of ClusterBackend that returns it or None
(`ceph_admin()`, `failover()`, `fault_injector()`, `workloads()`, `consoles()`,
`shells()`); services and the UI ask those, never the backend's concrete class. The
simulator and the real backend implement them in backends/.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mvm_tui.core.vm_change import VmShape
from mvm_tui.core.vm_spec import VmSpec
from mvm_tui.models import HostPoll, PowerState

UnitAction = Literal["stop", "disable", "is-active"]


@dataclass(frozen=True)
class CliResult:
    exit_status: int
    stdout: str
    stderr: str


class CephAdmin(Protocol):
    """What administering Ceph needs (a host decommission, HA's RADOS lease and state):
    `ceph` commands run on a host that has a monitor connection and the admin keyring,
    systemd units on one host, and the monitors listed in a host's ceph.conf. RealBackend
    runs them over SSH; the simulator answers them from its Ceph model in the same JSON as
    real Ceph, so the same parsers and steps run on both."""

    async def ceph(self, argv: Sequence[str]) -> CliResult:
        """`argv` (from backends.ceph.commands: ["ceph", "--connect-timeout", ...]) on any
        host that answers; its exit status is returned, not checked. Raises BackendError
        when no host answers."""
        ...

    async def systemctl(self, host: str, action: UnitAction, unit: str) -> CliResult:
        """`systemctl ACTION UNIT` on the host (units: ceph-osd@ID, ceph-mon@NAME)."""
        ...

    async def crush_name(self, host: str) -> str:
        """The host's CRUSH bucket name (its short hostname)."""
        ...

    async def mon_host(self, host: str) -> str:
        """The mon_host value of /etc/ceph/ceph.conf on the host."""
        ...

    async def set_mon_host(self, host: str, value: str) -> None:
        """Rewrite mon_host in the host's /etc/ceph/ceph.conf (nothing else changes)."""
        ...


class FaultInjector(Protocol):
    """What the simulator (backends/sim/faults.py) lets the demo do to its world."""

    def power_off_host(self, name: str) -> None: ...
    def cut_network(self, name: str) -> None: ...
    def restore_host(self, name: str) -> None: ...
    def crash_vm(self, vm: str) -> None: ...


class ConsoleChannel(Protocol):
    """A terminal's byte stream: a VM's serial console or a shell on a host."""

    @property
    def why(self) -> str:
        """Why it ended, once read() gave b"" ("" until then)."""
        ...

    async def read(self) -> bytes:
        """What the other end wrote since; b"" once the channel has ended."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def resize(self, columns: int, rows: int) -> None:
        """The terminal's size changed (a serial console has none: ignored there)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class KeptLog:
    """What a VM's serial console wrote, as its host keeps it: the end of the file."""

    text: str  # (raw terminal output: escape sequences and all)
    source: str  # where it is kept ("h3:/var/log/libvirt/qemu/web-1-serial.log")
    why_none: str = ""  # when nothing is kept: why


class Consoles(Protocol):
    """The serial consoles of the cluster's VMs."""

    async def boot_log(self, vm: str) -> KeptLog:
        """The end of what `vm`'s serial console wrote, kept by its host: readable while it
        is stopped ("why did it not boot"), without attaching."""
        ...

    async def open_console(self, vm: str, *, force: bool = False) -> ConsoleChannel:
        """VM `vm`'s serial console. ConsoleBusy when another client holds it, unless
        `force` (that client is then cut off); InvalidState when the VM does not run."""
        ...


class Shells(Protocol):
    """Shells on the cluster's hosts."""

    async def open_shell(self, host: str, columns: int, rows: int) -> ConsoleChannel:
        """A login shell on `host`, in a pty of that size."""
        ...


class StateStore(Protocol):
    """Where HA keeps what its failover engine must not forget."""

    async def load(self) -> dict[str, Any] | None: ...
    async def save(self, state: dict[str, Any]) -> None: ...


class Failover(Protocol):
    """What HA needs to fail a lost host's VMs over: liveness checks, fencing (Ceph blocklist,
    power off), restarting a VM on another host, and removing the stale copies a returned
    host still has. `timeout`: the HA check timeout, bounding each host asked."""

    # Restarting is safe only when a host cut off from the others stops its own VMs
    # (mvm-selffence, set up by [clusters.ha] self_fence_after); the simulator models that.
    self_fence_required: bool

    def state_store(self) -> StateStore | None:
        """Where the cluster itself keeps HA's state (None: HA keeps it, next to its lease)."""
        ...

    def with_kept(self, state: dict[str, Any]) -> dict[str, Any]:
        """HA's state with what this backend keeps for it (the VMs' definitions)."""
        ...

    def restore_kept(self, state: dict[str, Any]) -> None:
        """Take back what with_kept added, from a state HA loaded."""
        ...

    async def check(self, host: str, timeout: float) -> HostPoll | None:
        """A liveness check: what the host runs; None when it answered without saying."""
        ...

    def fence_commands(self, host: str, expiry_s: float) -> list[str]: ...
    def unfence_commands(self, host: str) -> list[str]: ...
    async def fence(self, host: str, expiry_s: float) -> None: ...
    async def unfence(self, host: str) -> None: ...
    async def is_fenced(self, host: str) -> bool: ...
    async def fenced_now(self, host: str) -> str: ...  # how it is fenced now; "" if it is not
    def power_off_commands(self, host: str) -> list[str]: ...
    async def power_off(self, host: str) -> None: ...
    async def osds_up(self, host: str) -> bool | None: ...  # any of its OSDs up (None: unknown)
    async def clear_self_fenced(self, host: str) -> None: ...  # its self-fence marker is read
    def restart_commands(self, vm: str, target: str) -> list[str]: ...
    async def define_on(self, vm: str, lost: str, target: str, timeout: float) -> None: ...
    async def state_on(self, vm: str, host: str) -> PowerState | None: ...  # None: not there
    async def start_on(self, vm: str, host: str) -> None: ...
    def remove_commands(self, vm: str, host: str) -> list[str]: ...
    async def remove_copy(self, vm: str, host: str) -> None: ...  # stop and undefine there
    async def running_on(self, vm: str, timeout: float) -> list[str]: ...  # live, answering
    async def room_for(self, vm: str, host: str, timeout: float) -> str: ...  # "": it fits


@dataclass(frozen=True)
class Image:
    """An image of the cluster's library, that VM disks are cloned from."""

    name: str
    os: str  # as the operator named it at the import ("" when not said)
    size_bytes: int
    disks: tuple[str, ...]  # the VM disks cloned from it (RBD image names)
    ready: bool = True  # its snapshot for clones is made and protected (an import finished)


@dataclass(frozen=True)
class KeptVm:
    """What a delete kept of a VM for a restore: its definition's size and RBD images."""

    uuid: str
    vcpus: int
    memory_mb: int
    images: tuple[str, ...]  # its disks' and seed's RBD images in the pool


class VmChanges(Protocol):
    """What changing a VM needs (issue 17), on the host it is defined on: its shape, its size
    live or for its next boot, devices attached and detached. Each `*_commands` is what the
    matching call runs, for the preview; each call leaves what is already so as it is."""

    async def shape(self, host: str, vm: str) -> VmShape: ...
    def vcpus_commands(self, host: str, vm: str, vcpus: int) -> list[str]: ...
    async def set_vcpus(self, host: str, vm: str, vcpus: int) -> None:
        """Live (and in its definition) when it runs, else in its definition; within its
        maximum."""
        ...
    def plug_commands(self, host: str, vm: str, mb: int) -> list[str]: ...
    async def plug_memory(self, host: str, vm: str, mb: int) -> None:
        """A memory module of `mb` MiB added to the running VM and its definition."""
        ...
    def next_boot_commands(self, host: str, vm: str, vcpus: int, memory_mb: int) -> list[str]:
        ...
    async def set_next_boot(self, host: str, vm: str, vcpus: int, memory_mb: int) -> None: ...
    def attach_disk_commands(self, host: str, vm: str, image: str, target: str) -> list[str]:
        ...
    async def attach_disk(self, host: str, vm: str, image: str, target: str) -> None: ...
    def attach_nic_commands(self, host: str, vm: str, mac: str, vlan: int,
                            offload: bool) -> list[str]: ...
    async def attach_nic(self, host: str, vm: str, mac: str, vlan: int,
                         offload: bool) -> None: ...
    def detach_commands(self, host: str, vm: str, device: str) -> list[str]: ...
    async def detach(self, host: str, vm: str, device: str, timeout: float) -> None:
        """The disk (its target) or NIC (its MAC) detached from the VM and its definition;
        from a running VM, confirmed by libvirt's device-removed event within `timeout` s
        (BackendError when the guest has not let it go)."""
        ...
    def grow_commands(self, host: str, vm: str, image: str, target: str,
                      size_gb: int) -> list[str]: ...
    async def grow(self, host: str, vm: str, image: str, target: str, size_gb: int) -> None:
        """The disk's image grown to `size_gb` GiB, and a running guest told."""
        ...


class Workloads(VmChanges, Protocol):
    """What making a VM needs of its cluster (issue 17): the image library and the VM's disks
    in the cluster's storage (on HCI: RBD images of the pool `pool`; clones of a library
    image's protected snapshot, copy-on-write), its cloud-init seed where every host reads it,
    and its definition on a host. Each `*_commands` is the exact commands the matching call
    runs, for the preview; each call is idempotent (what is there already is left as it is),
    so a retried run finishes what a failed one began."""

    pool: str
    rbd_user: str  # the cephx user qemu reaches RBD as

    async def images(self) -> list[Image]: ...
    async def secret_uuid(self) -> str: ...  # the libvirt secret of rbd_user's key, every host
    def upload_commands(self, host: str, local: str, remote: str) -> list[str]: ...
    async def upload(self, host: str, local: str, remote: str, size: int,
                     progress: Callable[[int, int], None] | None = None) -> None:
        """The file `local` of the jump box (`size` bytes) copied to `remote` on the host
        (nothing when a file of that size is there)."""
        ...
    async def remove_upload(self, host: str, remote: str) -> None: ...
    async def file_size(self, host: str, path: str) -> int | None: ...  # None: no such file
    def import_commands(self, host: str, path: str, image: str, os: str) -> list[str]: ...
    async def import_image(self, host: str, path: str, image: str, os: str) -> None:
        """The file `path` on `host` (qcow2 or raw) as the library image `image`."""
        ...
    async def image_users(self, image: str) -> list[str]:
        """The RBD images cloned from it, those in the pool's trash too ("NAME (in the
        trash)"): it cannot go while one is left."""
        ...
    def rename_image_commands(self, image: str, new: str) -> list[str]: ...
    async def rename_image(self, image: str, new: str) -> None: ...
    def remove_image_commands(self, image: str) -> list[str]: ...
    async def remove_image(self, image: str) -> None: ...
    def clone_commands(self, image: str, disk: str, size_gb: int) -> list[str]: ...
    async def clone(self, image: str, disk: str, size_gb: int) -> None: ...
    def volume_commands(self, disk: str, size_gb: int) -> list[str]: ...
    async def make_volume(self, disk: str, size_gb: int) -> None: ...
    async def disk_bytes(self, disk: str) -> int | None: ...  # its size; None: no such disk
    def seed_commands(self, seed: str) -> list[str]: ...
    async def write_seed(self, seed: str, data: bytes) -> None: ...
    def define_commands(self, host: str, vm: str) -> list[str]: ...
    async def define(self, host: str, xml: str, spec: VmSpec) -> None: ...
    async def defined(self, vm: str) -> dict[str, str]:
        """host -> the uuid of the domain named `vm` there, on every host; BackendError when
        a host does not answer (a name is free only when every host says so)."""
        ...
    def undefine_commands(self, host: str, vm: str) -> list[str]: ...
    async def undefine(self, host: str, vm: str) -> None: ...
    def trash_commands(self, disk: str, expires: str) -> list[str]: ...
    async def trash(self, disk: str, expires: str) -> None:
        """The disk moved to the pool's trash, restorable until `expires` (ISO 8601, UTC)."""
        ...
    # A deleted VM is marked where every process sees it (HCI: in RADOS, beside HA's lock)
    # before its definitions go: HA asks right before a restart, so a host lost during or
    # after a delete never brings the VM back.
    def mark_commands(self, vm: str) -> list[str]: ...
    async def mark_deleted(self, vm: str, uuid: str) -> None: ...
    async def deleted(self, vm: str) -> str | None: ...  # the uuid it was deleted with
    async def unmark_deleted(self, vm: str) -> None: ...
    # A delete keeps the VM's definition beside its mark, so a restore brings the VM back as
    # it was (from any jump box), its disks from the pool's trash.
    def keep_commands(self, host: str, vm: str) -> list[str]: ...
    async def keep_definition(self, host: str, vm: str) -> None: ...
    async def kept(self, vm: str) -> KeptVm | None: ...
    async def deleted_vms(self) -> list[str]: ...  # the names a definition is kept for
    async def forget_kept(self, vm: str) -> None: ...  # (once it is restored)
    def untrash_commands(self, image: str) -> list[str]: ...
    async def untrash(self, image: str) -> None:
        """The image of that name back from the trash (the one trashed last); nothing when it
        is in the pool already; NotFound when it is in neither."""
        ...
    # A copy of a stopped VM (a clone): its disks deep-copied (a clone of an image stays one,
    # copy-on-write), its seed read back to make the copy's, its definition copied.
    def copy_disk_commands(self, disk: str, new: str) -> list[str]: ...
    async def copy_disk(self, disk: str, new: str) -> None: ...
    async def read_seed(self, seed: str) -> bytes | None: ...  # None: there is none
    def define_copy_commands(self, host: str, source_host: str, source: str,
                             name: str) -> list[str]: ...
    async def define_copy(self, host: str, source_host: str, source: str, name: str,
                          uuid: str, renames: dict[str, str], macs: list[str]) -> None: ...
    # A stopped VM renamed: its images, then its definition (same uuid, disks renamed).
    def rename_disk_commands(self, disk: str, new: str) -> list[str]: ...
    async def rename_disk(self, disk: str, new: str) -> None: ...
    def rename_vm_commands(self, host: str, vm: str, new: str) -> list[str]: ...
    async def rename_vm(self, host: str, vm: str, new: str, renames: dict[str, str]) -> None:
        ...
    def define_kept_commands(self, host: str, vm: str) -> list[str]: ...
    async def define_kept(self, host: str, vm: str) -> None: ...


@dataclass(frozen=True)
class VmSnapshot:
    """A snapshot of a VM: one RBD snapshot of that name on each of its disks (issue 19)."""

    name: str
    taken: float  # when (seconds since the epoch)
    size_bytes: int  # its disks' sizes when it was taken
    consistency: str  # CONSISTENCY's: how consistent its disks are; "" when not known
    disks: tuple[str, ...]  # the RBD images that have it
    complete: bool = True  # every disk of the VM has it (False: made elsewhere, or half made)


# a snapshot's consistency: its guest's filesystems frozen by its agent; the VM shut off; taken
# while it ran without its agent (as if it had lost power then: what a journal recovers)
CONSISTENCY = {"frozen": "filesystems frozen by the guest agent", "stopped": "VM shut off",
               "crash": "crash-consistent (no guest agent answered)"}


@dataclass(frozen=True)
class GroupMember:
    """A VM of a group snapshot: where it is defined, and its RBD disks."""

    host: str
    vm: str
    images: tuple[str, ...]


class Snapshots(Protocol):
    """Snapshots of a VM's RBD disks, all at one instant. `images` are the VM's disks in the
    cluster's pool, `host` where it is defined (the commands run there)."""

    async def snapshots(self, host: str, vm: str, images: Sequence[str]) -> list[VmSnapshot]:
        """Oldest first."""
        ...

    def take_commands(self, host: str, vm: str, images: Sequence[str], name: str,
                      running: bool) -> list[str]: ...

    async def take(self, host: str, vm: str, images: Sequence[str], name: str,
                   running: bool) -> str:
        """Take snapshot `name` of every image; returns its consistency (CONSISTENCY). A
        running VM's filesystems are frozen through its agent when it answers, thawed in every
        case (by the host itself, should this process or its connection die meanwhile);
        otherwise a VM of several disks is paused for the snapshots (one instant)."""
        ...

    def revert_commands(self, host: str, vm: str, images: Sequence[str],
                        name: str) -> list[str]: ...

    async def revert(self, host: str, vm: str, images: Sequence[str], name: str) -> None:
        """Every image rolled back to snapshot `name` (the VM shut off: the caller checks)."""
        ...

    def delete_commands(self, host: str, vm: str, images: Sequence[str],
                        name: str) -> list[str]: ...

    async def delete(self, host: str, vm: str, images: Sequence[str], name: str) -> None: ...

    def group_commands(self, members: Sequence[GroupMember], name: str) -> list[str]: ...

    async def take_group(self, members: Sequence[GroupMember], name: str) -> dict[str, str]:
        """Snapshot `name` of every member's disks at one instant: each running member
        frozen through its agent (paused without one) on its host, then every disk's
        snapshot, then each thawed (resumed). Should the thaw never come, each host thaws
        (resumes) its members by itself (workload_commands.group_hold). Returns each VM's
        consistency (CONSISTENCY)."""
        ...
