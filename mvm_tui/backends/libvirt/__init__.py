"""The libvirt side of the real backend: one connection per host over qemu+ssh.

LibvirtHost is the connection (its own worker thread, keepalive, reconnects, lifecycle
events; connection.py states the threading rule of libvirt objects, handles.py enforces it);
LibvirtNode the operations on one host (poll, vm_info, power, placement, migrate).
The modules below them are blocking functions over a libvirt connection, run on the host's
worker thread, and pure helpers (URIs, domain XML, rates, migration progress).
"""

from mvm_tui.backends.libvirt.connection import KeepAlive, LibvirtHost
from mvm_tui.backends.libvirt.events import LifecycleEvent, ensure_event_loop
from mvm_tui.backends.libvirt.metadata import PlacementData
from mvm_tui.backends.libvirt.migrate import migration_flags, progress_from_job_stats
from mvm_tui.backends.libvirt.node import LibvirtNode
from mvm_tui.backends.libvirt.power import power_commands
from mvm_tui.backends.libvirt.uri import UriError, build_uri, check_uri

__all__ = [
    "KeepAlive",
    "LibvirtHost",
    "LibvirtNode",
    "LifecycleEvent",
    "PlacementData",
    "UriError",
    "build_uri",
    "check_uri",
    "ensure_event_loop",
    "migration_flags",
    "power_commands",
    "progress_from_job_stats",
]
