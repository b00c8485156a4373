"""The interface every cluster backend implements: the simulator and the real SSH/libvirt one.

Services and the UI only ever see this interface (through services.cluster.Cluster), so a
scenario that passes on the simulator can be run unchanged against the real lab.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from mvm_tui.backends.capabilities import (
    CephAdmin,
    Consoles,
    Failover,
    FaultInjector,
    Shells,
    Snapshots,
    Workloads,
)
from mvm_tui.models import (
    CephStatus,
    HostPoll,
    Layout,
    MigrationProgress,
    Placement,
    PowerAction,
    StopReason,
    Vm,
)


class BackendError(Exception):
    """A backend call failed; the message is fit to show an operator."""


class HostUnreachable(BackendError):
    """The host did not answer (connection refused, timed out, no route)."""


class NotFound(BackendError):
    """The host or VM named does not exist (any more)."""


class InvalidState(BackendError):
    """The action does not apply in the object's current state (e.g. start a running VM)."""


class ConsoleBusy(BackendError):
    """Another client holds the VM's console (libvirt lets one at a time)."""


def commands_or_why(make: Callable[[], list[str]]) -> tuple[str, ...]:
    """The commands make() gives, for a preview; when the backend cannot name them (the VM
    or a host is not known now: a run rebuilt after a host left), a comment saying why."""
    try:
        return tuple(make())
    except BackendError as exc:
        return (f"# no command to show: {exc}",)


@dataclass(frozen=True)
class HostRef:
    """A host as configured: what the backend needs to reach it."""

    name: str
    address: str


class ClusterBackend(ABC):
    """One cluster's hosts, VMs and storage, as a backend reaches them."""

    name: str
    layout: Layout
    hosts: tuple[HostRef, ...]

    @abstractmethod
    async def poll_host(self, host: str) -> HostPoll:
        """Facts, current load and the VMs of one host. Raises HostUnreachable when it does
        not answer; may simply not return for a long time (callers apply their timeout)."""

    @abstractmethod
    async def ceph_status(self) -> CephStatus | None:
        """Ceph's status on HCI clusters (None when the cluster has no Ceph)."""

    @abstractmethod
    async def vm_info(self, vm: str) -> Vm:
        """The VM's current state, fresh from its host. Raises NotFound."""

    @abstractmethod
    def power_commands(self, vm: Vm, action: PowerAction) -> list[str]:
        """The exact commands a power action runs, for the preview before it runs."""

    @abstractmethod
    async def vm_power(self, vm: Vm, action: PowerAction) -> None:
        """Ask for a power action; returns once the host accepted it (not when it is done).
        Raises InvalidState when the VM is not in a state the action applies to."""

    async def vm_stop_reason(self, vm: str) -> StopReason | None:
        """Why the VM is shut off or crashed, as its host's libvirt says (None: it runs, or
        the backend cannot tell). Raises NotFound."""
        return None

    @abstractmethod
    def migrate_commands(self, vm: Vm, dest: str) -> list[str]:
        """The exact commands a live migration of `vm` to `dest` runs, for its preview."""

    @abstractmethod
    async def migrate(
        self, vm: str, dest: str, on_progress: Callable[[MigrationProgress], None] | None = None
    ) -> None:
        """Live-migrate a running VM to `dest`, reporting progress about every second.
        The VM runs on its source until the switch-over, then on `dest`: never on both."""

    @abstractmethod
    def relocate_commands(self, vm: Vm, dest: str) -> list[str]:
        """The exact commands a cold move of a powered-off VM to `dest` runs."""

    @abstractmethod
    async def relocate(self, vm: str, dest: str) -> None:
        """Move a powered-off VM's definition to `dest` (its disks are shared); it stays off.
        Raises InvalidState when it runs."""

    @abstractmethod
    def placement_commands(self, vm: Vm, placement: Placement, home_host: str | None
                           ) -> list[str]:
        """The exact commands set_placement runs (as virsh: it is a libvirt call)."""

    @abstractmethod
    async def set_placement(self, vm: str, placement: Placement, home_host: str | None) -> None:
        """Record the VM's placement strategy and home host where it travels with the VM."""

    @abstractmethod
    def maintenance_commands(self, host: str, on: bool) -> list[str]:
        """The exact commands set_maintenance runs."""

    @abstractmethod
    async def set_maintenance(self, host: str, on: bool) -> None:
        """Mark the host in or out of maintenance, where every jump box sees it."""

    async def guest_addresses(self, vm: str) -> tuple[str, ...] | None:
        """The running VM's addresses ("10.0.22.15/24") as its qemu guest agent reports them
        (with Open vSwitch there are no libvirt DHCP leases); None when the agent does not
        answer (not installed, not started yet)."""
        return None

    # -- optional capabilities (backends.capabilities): None when the cluster has none

    def ceph_admin(self) -> CephAdmin | None:
        """Ceph administration (`ceph` commands, its daemons' units, mon_host)."""
        return None

    def failover(self) -> Failover | None:
        """What HA needs to fence a lost host and restart its VMs elsewhere."""
        return None

    def fault_injector(self) -> FaultInjector | None:
        """Faults the demo may inject (a simulated cluster's)."""
        return None

    def workloads(self) -> Workloads | None:
        """Making VMs from the cluster's image library (HCI clusters)."""
        return None

    def consoles(self) -> Consoles | None:
        """VMs' serial consoles."""
        return None

    def snapshots(self) -> Snapshots | None:
        """Snapshots of VMs' RBD disks (HCI clusters)."""
        return None

    def shells(self) -> Shells | None:
        """Shells on the hosts."""
        return None

    def watch(self, changed: Callable[[str], None]) -> None:  # noqa: B027 - optional hook
        """Call changed(host) when the backend learns, without polling, that something on the
        host changed (a VM started or stopped); the poller then polls that host at once."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def host_left(self, host: str) -> None:
        """The host left the cluster (the last step of its decommission): it leaves `hosts`
        now, and every listener (the inventory poller, the HA service) stops watching it.
        The one "host left the cluster" signal; nothing else removes a host at run time."""
        self.hosts = tuple(h for h in self.hosts if h.name != host)
        for listener in tuple(self._left_listeners()):
            listener(host)

    def on_host_left(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call listener(host) when a host leaves the cluster; returns the unsubscribe."""
        listeners = self._left_listeners()
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    def _left_listeners(self) -> list[Callable[[str], None]]:
        # (kept in the instance without an __init__ here: subclasses need not call super's)
        found: list[Callable[[str], None]] | None = self.__dict__.get("_host_left_listeners")
        if found is None:
            found = self.__dict__["_host_left_listeners"] = []
        return found
